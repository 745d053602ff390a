// SPDY/3.1 tunnelled in WebSocket (`SPDY/3.1+portforward.k8s.io`, client-go's
// TunnelingConnection): the WebSocket's binary messages, concatenated, are the SPDY byte
// stream in each direction, with no channel byte. This turns the WebSocket into the Duplex
// the SPDY port-forward server reads and writes.
import { Duplex } from "node:stream";
import type { RawData, WebSocket } from "ws";
import { messageBytes } from "./channels.js";

const CLOSE_GRACE_MS = 1000;

export function webSocketDuplex(ws: WebSocket, onActivity?: () => void): Duplex {
  let paused = false;
  const duplex = new Duplex({
    read() {
      if (paused) {
        paused = false;
        ws.resume();
      }
    },
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) {
        // The client is gone; its 'close' ends this stream. Writes are dropped, not errors.
        cb();
        return;
      }
      onActivity?.();
      ws.send(chunk, { binary: true }, () => cb());
    },
    final(cb) {
      ws.close(1000);
      cb();
    },
    destroy(err, cb) {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
        if (err) ws.terminate();
        else ws.close(1000);
      }
      cb(err);
    },
  });
  ws.on("message", (raw: RawData, isBinary: boolean) => {
    onActivity?.();
    if (!isBinary || duplex.destroyed) return;
    const data = messageBytes(raw);
    if (data.length > 0 && !duplex.push(data)) {
      paused = true;
      ws.pause();
    }
  });
  ws.once("close", () => {
    if (duplex.destroyed) return;
    // EOF first, so the SPDY side reads what is still buffered; then let go of the stream in
    // case that side waits for nothing but 'close'.
    duplex.push(null);
    setTimeout(() => duplex.destroy(), CLOSE_GRACE_MS).unref();
  });
  return duplex;
}
