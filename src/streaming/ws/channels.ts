// Numbered channels over one WebSocket (apimachinery wsstream): every message starts with its
// channel number — a byte in the binary protocols, an ASCII digit followed by base64 data in the
// base64 ones. v5 adds channel 255: a message [255, N] half-closes the client's channel N.
//
// Streams handed out here never emit 'error': a client that goes away ends the readable
// channels (EOF) and turns writes into no-ops, and the session's AbortSignal tells the runtime.
import { Readable, Writable } from "node:stream";
import type { RawData, WebSocket } from "ws";
import { CLOSE_CHANNEL } from "../protocols.js";

/** How the client's data on a channel is read:
 *  - "paced": the socket is paused while the reader's buffer is full (stdin, port data);
 *  - "capped": never pauses the socket; data beyond a small buffer is dropped (resize, which
 *    a runtime may never read and which must not stall stdin). */
export type ReadMode = "paced" | "capped";

export interface ChannelSpec {
  read?: ReadMode;
  write?: boolean;
}

export interface ChannelOptions {
  base64: boolean;
  /** v5: honour [255, N] half-close messages. */
  closeChannel: boolean;
  channels: ChannelSpec[];
  /** Called on every message in or out (the idle timer). */
  onActivity?: () => void;
}

const CAPPED_BYTES = 64 * 1024;

/** One received message as a Buffer, whatever form ws delivered it in. */
export function messageBytes(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}

interface ReadChannel {
  stream: Readable;
  mode: ReadMode;
  ended: boolean;
}

export class ChannelConn {
  private readonly readers = new Map<number, ReadChannel>();
  private readonly writers = new Map<number, Writable>();
  /** Paced channels whose reader asked the socket to stop. */
  private readonly full = new Set<number>();

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: ChannelOptions,
  ) {
    opts.channels.forEach((spec, n) => {
      if (spec.read) this.readers.set(n, this.makeReader(n, spec.read));
      if (spec.write) this.writers.set(n, this.makeWriter(n));
    });
    ws.on("message", (data: RawData) => this.receive(data));
    ws.once("close", () => this.endAllReaders());
  }

  /** The client's data on channel `n`; undefined unless the channel is readable. */
  reader(n: number): Readable | undefined {
    return this.readers.get(n)?.stream;
  }

  /** Writes on channel `n`; undefined unless the channel is writable. */
  writer(n: number): Writable | undefined {
    return this.writers.get(n);
  }

  /** Sends one message on channel `n` (also an empty one: "the connection is established"). */
  send(n: number, data: Buffer, done: () => void = () => undefined): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      done();
      return;
    }
    this.opts.onActivity?.();
    if (this.opts.base64) {
      const frame = String.fromCharCode(0x30 + n) + data.toString("base64");
      this.ws.send(frame, { binary: false }, () => done());
    } else {
      const frame = Buffer.allocUnsafe(data.length + 1);
      frame[0] = n;
      data.copy(frame, 1);
      this.ws.send(frame, { binary: true }, () => done());
    }
  }

  private makeWriter(n: number): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => this.send(n, chunk, () => cb()),
    });
  }

  private makeReader(n: number, mode: ReadMode): ReadChannel {
    const stream = new Readable({
      read: () => {
        if (this.full.delete(n) && this.full.size === 0) this.ws.resume();
      },
    });
    return { stream, mode, ended: false };
  }

  private receive(raw: RawData): void {
    this.opts.onActivity?.();
    const data = messageBytes(raw);
    if (data.length === 0) return;
    const first = data[0]!;
    if (this.opts.closeChannel && first === CLOSE_CHANNEL) {
      if (data.length === 2) this.endReader(data[1]!);
      return;
    }
    let n = first;
    let payload = data.subarray(1);
    if (this.opts.base64) {
      n = first - 0x30;
      payload = Buffer.from(payload.toString("latin1"), "base64");
    }
    const ch = this.readers.get(n);
    // Data for a channel the session does not read is dropped, as upstream does.
    if (!ch || ch.ended || ch.stream.destroyed || payload.length === 0) return;
    if (ch.mode === "capped") {
      if (ch.stream.readableLength < CAPPED_BYTES) ch.stream.push(payload);
      return;
    }
    if (!ch.stream.push(payload)) {
      this.full.add(n);
      this.ws.pause();
    }
  }

  private endReader(n: number): void {
    const ch = this.readers.get(n);
    if (!ch || ch.ended) return;
    ch.ended = true;
    ch.stream.push(null);
    if (this.full.delete(n) && this.full.size === 0) this.ws.resume();
  }

  private endAllReaders(): void {
    for (const n of this.readers.keys()) this.endReader(n);
  }
}
