// Closing our side of streams at the end of a session: FIN on each, then wait until the data
// queued before it is on the socket (or the stream is gone), so GOAWAY and the socket close that
// follow cannot cut output short.
import { finished } from "node:stream/promises";
import type { SpdyStream } from "./stream.js";

export async function endStreams(
  streams: (SpdyStream | undefined)[],
  timeoutMs: number,
): Promise<void> {
  const open = streams.filter((s): s is SpdyStream => s !== undefined && !s.destroyed);
  for (const s of open) if (!s.writableEnded) s.end();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  const flushed = Promise.all(
    open.map((s) => finished(s, { readable: false }).catch(() => undefined)),
  );
  await Promise.race([flushed, timeout]);
  clearTimeout(timer);
}
