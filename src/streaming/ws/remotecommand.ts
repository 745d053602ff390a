// Exec and attach over WebSocket (kubelet's remotecommand/websocket.go): channels 0 stdin,
// 1 stdout, 2 stderr, 3 error, 4 resize; an empty message on the lowest channel the server
// writes tells the client the session is up; at the end the status goes out on channel 3 and
// the server closes with 1000, which client-go reads as EOF on every stream.
import type { WebSocket } from "ws";
import { InternalError } from "../../errors.js";
import { CHANNEL, hasCloseChannel, isBase64Protocol } from "../protocols.js";
import type { RemoteCommandRequest, RemoteCommandStreams } from "../types.js";
import { ChannelConn } from "./channels.js";

export interface WsSessionOptions {
  /** Aborted when the client is gone, the session idles out or the server closes. */
  signal: AbortSignal;
  onActivity?: () => void;
}

export async function serveWebSocketRemoteCommand<T>(
  ws: WebSocket,
  protocol: string,
  req: RemoteCommandRequest,
  run: (req: RemoteCommandRequest, streams: RemoteCommandStreams) => Promise<T>,
  opts: WsSessionOptions,
): Promise<T> {
  const conn = new ChannelConn(ws, {
    base64: isBase64Protocol(protocol),
    closeChannel: hasCloseChannel(protocol),
    onActivity: opts.onActivity,
    channels: [
      { read: req.stdin ? "paced" : undefined },
      { write: req.stdout },
      { write: req.stderr },
      { write: true },
      { read: "capped" },
    ],
  });
  const first = req.stdout ? CHANNEL.stdout : req.stderr ? CHANNEL.stderr : CHANNEL.error;
  conn.send(first, Buffer.alloc(0));
  const errorChannel = conn.writer(CHANNEL.error);
  if (!errorChannel) throw new InternalError("websocket error channel missing");
  const result = await run(req, {
    protocol,
    stdin: conn.reader(CHANNEL.stdin),
    stdout: conn.writer(CHANNEL.stdout),
    stderr: conn.writer(CHANNEL.stderr),
    resize: conn.reader(CHANNEL.resize),
    error: errorChannel,
    signal: opts.signal,
  });
  ws.close(1000);
  return result;
}
