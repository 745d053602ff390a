// port-forward over SPDY (`portforward.k8s.io`), as kubelet's streaming server does it
// (k8s.io/kubelet/pkg/cri/streaming/portforward/httpstream.go): for each forwarded connection
// the client opens an `error` and a `data` stream carrying the same `port` and `requestid`
// headers; once both are in, the data stream is forwarded; a failure is reported on the error
// stream as kubelet's JSON `{"closeConnection":…,"message":…}` and the session keeps serving
// other connections. Both streams are closed when the forward is over.
import type { ServeSpdyPortForward } from "../types.js";
import { SpdySession } from "./session.js";
import type { SpdyStream } from "./stream.js";
import { endStreams } from "./streams-end.js";

interface Pair {
  requestId: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Why a stream's headers are unusable (kubelet's wording), or undefined when they are fine. */
export function invalidPortForwardHeaders(h: Record<string, string>): string | undefined {
  const portString = h["port"] ?? "";
  if (portString === "") return `"port" header is required`;
  if (!/^\d+$/.test(portString) || Number(portString) > 65535) {
    return `unable to parse "${portString}" as a port`;
  }
  if (Number(portString) < 1) return `port "${portString}" must be > 0`;
  const type = h["streamtype"] ?? "";
  if (type === "") return `"streamType" header is required`;
  if (type !== "error" && type !== "data") return `invalid stream type "${type}"`;
  return undefined;
}

/** Old clients send no requestid: kubelet pairs by stream id (error = id, data = id - 2). */
function requestIdOf(s: SpdyStream): string {
  const given = s.headers["requestid"];
  if (given) return given;
  return String(s.headers["streamtype"] === "data" ? s.id - 2 : s.id);
}

/** kubelet keeps the session on EPIPE/ECONNRESET and asks the client to close it otherwise. */
function errorResponse(port: number, err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const body = {
    closeConnection: !(code === "EPIPE" || code === "ECONNRESET"),
    message: `error forwarding port ${port}: ${message}`,
  };
  return `${JSON.stringify(body)}\n`;
}

export const serveSpdyPortForward: ServeSpdyPortForward = async (conn, head, forward, limits) => {
  const session = new SpdySession(conn, head, { idleTimeoutMs: limits.idleTimeoutMs });
  const pairs = new Map<string, Pair>();
  const running = new Set<Promise<void>>();

  const run = async (pair: Pair, data: SpdyStream, error: SpdyStream): Promise<void> => {
    const port = Number(data.headers["port"]);
    const ac = new AbortController();
    const stop = (): void => ac.abort(session.signal.reason);
    session.signal.addEventListener("abort", stop, { once: true });
    // A client that resets the data stream has given up on this connection.
    data.once("close", () => {
      if (data.resetStatus !== undefined) ac.abort(new Error(`request ${pair.requestId} reset`));
    });
    try {
      await forward(port, data, ac.signal);
    } catch (err: unknown) {
      if (!error.destroyed) error.write(errorResponse(port, err));
    } finally {
      session.signal.removeEventListener("abort", stop);
    }
    await endStreams([data, error], 10_000);
  };

  const onStream = (s: SpdyStream): void => {
    const invalid = invalidPortForwardHeaders(s.headers);
    if (invalid !== undefined) {
      // kubelet resets such a stream; an error stream gets the reason first so the user sees it.
      if (s.headers["streamtype"] === "error") {
        s.reply();
        s.end(invalid);
      } else s.reset();
      return;
    }
    const requestId = requestIdOf(s);
    let pair = pairs.get(requestId);
    if (!pair) {
      const created: Pair = {
        requestId,
        timer: setTimeout(() => {
          pairs.delete(requestId);
          created.error?.end(`(request=${requestId}) timed out waiting for streams`);
          created.data?.reset();
        }, limits.streamCreationTimeoutMs),
      };
      created.timer.unref();
      pairs.set(requestId, created);
      pair = created;
    }
    s.reply();
    const type = s.headers["streamtype"] === "data" ? "data" : "error";
    if (pair[type]) {
      pair.error?.write(
        `error processing stream for request ${requestId}: ${type} stream already assigned`,
      );
      s.reset();
      return;
    }
    pair[type] = s;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      const p = run(pair, pair.data, pair.error);
      running.add(p);
      void p.finally(() => running.delete(p));
    }
  };

  session.on("stream", onStream);
  await session.closed;
  for (const pair of pairs.values()) clearTimeout(pair.timer);
  await Promise.all(running);
};
