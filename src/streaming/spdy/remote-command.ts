// exec and attach over SPDY, as kubelet's streaming server does it
// (k8s.io/kubelet/pkg/cri/streaming/remotecommand/httpstream.go): the client opens one stream per
// channel, tagged by its `streamtype` header; every stream is answered with an empty SYN_REPLY;
// once the streams the request needs have arrived (within the stream creation timeout) the
// command runs; when it is over our sides of the streams are closed, GOAWAY is sent and the
// connection is closed, which is what makes the client's copy loops and its wait on the error
// stream end.
import { Writable } from "node:stream";
import type {
  RemoteCommandRequest,
  RemoteCommandStreams,
  ServeSpdyRemoteCommand,
} from "../types.js";
import { SpdySession } from "./session.js";
import type { SpdyStream } from "./stream.js";
import { endStreams } from "./streams-end.js";

export const STREAM_TYPES = ["error", "stdin", "stdout", "stderr", "resize"] as const;
export type StreamType = (typeof STREAM_TYPES)[number];

/** Protocols before v3 know no resize stream (a stream of that type is ignored). */
function supportsResize(protocol: string): boolean {
  return protocol !== "v2.channel.k8s.io" && protocol !== "channel.k8s.io" && protocol !== "";
}

/** How many streams the client opens for `req`: the error stream plus one per channel asked for. */
export function expectedStreamCount(req: RemoteCommandRequest, protocol: string): number {
  const stderr = req.stderr && !req.tty;
  let n = 1 + Number(req.stdin) + Number(req.stdout) + Number(stderr);
  if (req.tty && supportsResize(protocol)) n++;
  return n;
}

type Collected = Partial<Record<StreamType, SpdyStream>>;

/** Waits for the streams, replying to each; undefined when the timeout or the connection ends
 *  first. Streams of an unknown type are answered but not counted, as upstream does. */
function collectStreams(
  session: SpdySession,
  expected: number,
  protocol: string,
  timeoutMs: number,
): Promise<Collected | undefined> {
  return new Promise((resolve) => {
    const got: Collected = {};
    let count = 0;
    const done = (result: Collected | undefined): void => {
      clearTimeout(timer);
      session.off("stream", onStream);
      session.signal.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onStream = (s: SpdyStream): void => {
      s.reply();
      const type = s.headers["streamtype"] ?? "";
      const known = (STREAM_TYPES as readonly string[]).includes(type);
      if (!known || (type === "resize" && !supportsResize(protocol))) return;
      got[type as StreamType] = s;
      if (++count >= expected) done(got);
    };
    const onAbort = (): void => done(undefined);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    session.on("stream", onStream);
    session.signal.addEventListener("abort", onAbort);
  });
}

/** v1 (`channel.k8s.io`) quirk kept by kubelet: the error stream is reset as soon as the streams
 *  are set up, so nothing written to it ever arrives; stdin's write side is closed. */
function discard(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

export const serveSpdyRemoteCommand: ServeSpdyRemoteCommand = async (
  conn,
  head,
  req,
  protocol,
  run,
  limits,
) => {
  const session = new SpdySession(conn, head, { idleTimeoutMs: limits.idleTimeoutMs });
  const expected = expectedStreamCount(req, protocol);
  const got = await collectStreams(session, expected, protocol, limits.streamCreationTimeoutMs);
  if (!got?.error) {
    // Timed out, the client went away, or it never opened an error stream.
    await session.close();
    return;
  }
  const legacy = protocol === "channel.k8s.io" || protocol === "";
  if (legacy) {
    got.error.reset();
    got.stdin?.end();
  }
  // Streams the client opened but the request did not ask for are not handed on.
  const streams: RemoteCommandStreams = {
    protocol,
    error: legacy ? discard() : got.error,
    signal: session.signal,
  };
  if (req.stdin && got.stdin) streams.stdin = got.stdin;
  if (req.stdout && got.stdout) streams.stdout = got.stdout;
  if (req.stderr && !req.tty && got.stderr) streams.stderr = got.stderr;
  if (req.tty && got.resize) streams.resize = got.resize;
  try {
    await run(req, streams);
  } catch {
    // run never rejects by contract; a bug there must still close the session.
  }
  await endStreams(Object.values(got), 10_000);
  await session.close();
};
