// Port-forward over WebSocket with channels (kubelet's portforward/websocket.go): one WebSocket
// per forwarded connection; for the i-th `?port=` the client gets channel 2i (data, both ways)
// and 2i+1 (errors, server to client); the server first sends each port as two little-endian
// bytes on both of its channels. The session ends when every port's connection is done.
import { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { errorMessage } from "../../errors.js";
import { isBase64Protocol } from "../protocols.js";
import type { ForwardPort } from "../types.js";
import { ChannelConn, type ChannelSpec } from "./channels.js";
import type { WsSessionOptions } from "./remotecommand.js";

function portBytes(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}

/** Resolves true when every port's connection ended without an error. */
export async function serveWebSocketPortForward(
  ws: WebSocket,
  protocol: string,
  podSandboxId: string,
  ports: number[],
  forward: ForwardPort,
  opts: WsSessionOptions,
): Promise<boolean> {
  const channels: ChannelSpec[] = ports.flatMap(() => [
    { read: "paced", write: true },
    { write: true },
  ]);
  const conn = new ChannelConn(ws, {
    base64: isBase64Protocol(protocol),
    closeChannel: false,
    onActivity: opts.onActivity,
    channels,
  });
  const results = await Promise.all(
    ports.map(async (port, i) => {
      conn.send(2 * i, portBytes(port));
      conn.send(2 * i + 1, portBytes(port));
      const readable = conn.reader(2 * i);
      const writable = conn.writer(2 * i);
      if (!readable || !writable) return false;
      const data = Duplex.from({ readable, writable });
      // The runtime may tear its side down hard; that is the end of this connection, not a crash.
      data.on("error", () => undefined);
      try {
        await forward(port, data, opts.signal);
        return true;
      } catch (err) {
        const msg = `error forwarding port ${port} to pod ${podSandboxId}, uid : ${errorMessage(err)}`;
        await new Promise<void>((resolve) => conn.send(2 * i + 1, Buffer.from(msg), resolve));
        return false;
      }
    }),
  );
  ws.close(1000);
  return results.every(Boolean);
}
