// A layer unpack done by the unpack worker thread (unpack-thread.ts, unpack-worker.ts), with
// the interface of LayerUnpack: bytes go into `input`, `done` settles once every entry is
// written or the unpack failed, `finish` gives directories their final metadata. The pull is
// CPU-bound: gunzip, the diff ID hash, tar parsing and the file writes run beside the main
// thread (which downloads, verifies and stores the blob) instead of on it, and their garbage —
// a Buffer per chunk — is collected in the worker's own heap, not in pauses of the daemon.
import { Writable } from "node:stream";
import { InternalError, errorMessage } from "../../errors.js";
import { UnpackThread } from "./unpack-thread.js";
import type { LayerUnpackOptions, UnpackLayerResult } from "./unpack-layer.js";
import {
  type FromWorker,
  type ToWorker,
  type WireResult,
  fromWire,
  toWire,
} from "./worker-protocol.js";

/** Bytes per message: few messages. */
const BUFFER_BYTES = 256 * 1024;
/** Buffers on their way to the worker's unpack (or back) before the input holds its writer. */
const BUFFERS = 12;

type Settle<T> = { resolve: (v: T) => void; reject: (e: Error) => void };

export class WorkerLayerUnpack {
  readonly input: WorkerInput;
  readonly done: Promise<void>;
  private readonly id: number;
  private settleDone: Settle<void> | undefined;
  private finishing: Settle<UnpackLayerResult> | undefined;
  /** Set once the worker died under this unpack. */
  private lostWith: Error | undefined;
  private released = false;

  constructor(
    private readonly opts: LayerUnpackOptions,
    private readonly thread: UnpackThread = UnpackThread.shared(),
  ) {
    this.input = new WorkerInput(
      (m, transfer) => this.send(m, transfer),
      () => this.id,
      () => thread.takeBuffer(BUFFER_BYTES),
    );
    // Whoever destroys the input with an error (a failed download) reports that error itself.
    this.input.on("error", () => undefined);
    this.done = new Promise<void>((resolve, reject) => (this.settleDone = { resolve, reject }));
    this.done.catch(() => undefined);
    this.id = thread.open(
      { receive: (m) => this.receive(m), lost: (err) => this.lost(err) },
      {
        mediaType: opts.mediaType,
        target: opts.target,
        privileged: opts.privileged ?? process.getuid?.() === 0,
        what: opts.what,
      },
    );
  }

  /** After `done`: directory metadata and times; what the layer unpacked to. */
  async finish(parents: readonly string[]): Promise<UnpackLayerResult> {
    await this.done;
    if (this.lostWith) throw this.lostWith;
    const result = new Promise<UnpackLayerResult>((resolve, reject) => {
      this.finishing = { resolve, reject };
    });
    this.send({ t: "finish", id: this.id, parents: [...parents] });
    return result;
  }

  /**
   * The unpack is over (after `done`, or `finish`, settled: nothing writes any more): the
   * worker forgets it. Called before that, it stops the unpack.
   */
  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.input.drop();
    // The buffers back from the worker serve the next layer: no fresh memory to fault in.
    for (const buf of this.input.takeFree()) this.thread.keepBuffer(buf);
    this.thread.release(this.id);
  }

  private send(m: ToWorker, transfer?: ArrayBuffer[]): void {
    if (this.lostWith || this.released) return;
    this.thread.post(m, transfer);
  }

  private receive(m: FromWorker): void {
    switch (m.t) {
      case "ack":
        this.input.acked(m.buf);
        break;
      case "done":
        if (m.error) {
          // Nothing more is unpacked: take and drop the rest of the bytes, so the download
          // goes on to its digest check (a corrupted blob fails as such, not as a bad tar).
          this.input.drop();
          this.settleDone?.reject(fromWire(m.error));
        } else this.settleDone?.resolve();
        break;
      case "finished": {
        const f = this.finishing;
        this.finishing = undefined;
        if (m.error) f?.reject(fromWire(m.error));
        else if (m.result) f?.resolve(fromWireResult(m.result));
        break;
      }
      case "run":
        this.opts.runner.run(m.file, m.args).then(
          (result) => this.send({ t: "ran", id: this.id, call: m.call, result }),
          (err: unknown) =>
            this.send({ t: "run-failed", id: this.id, call: m.call, error: toWire(err) }),
        );
        break;
      case "log":
        this.opts.logger[m.level](m.obj, m.msg);
        break;
    }
  }

  /** The worker is gone: whatever still waits for it fails (nothing writes any more). */
  private lost(err: Error): void {
    if (this.lostWith) return;
    this.lostWith = new InternalError(`cannot unpack ${this.opts.what}: ${errorMessage(err)}`, {
      cause: err,
    });
    this.input.drop();
    this.settleDone?.reject(this.lostWith);
    this.finishing?.reject(this.lostWith);
    this.finishing = undefined;
  }
}

function fromWireResult(r: WireResult): UnpackLayerResult {
  return { diffId: r.diffId, compression: r.compression, size: BigInt(r.size), inodes: r.inodes };
}

/**
 * Takes the layer's bytes for the worker: copies them into a few buffers that travel to the
 * worker and back (transferred, not copied), and holds the writer while all of them are away.
 * The chunks themselves also go to the blob file, so they cannot be handed over; and memory
 * used again costs no page faults, unlike a fresh buffer per message. (A SharedArrayBuffer
 * ring would need no messages back, but V8 copies into shared memory a byte at a time.)
 */
class WorkerInput extends Writable {
  /** Buffers back from the worker, the most recent (warmest) last. */
  private readonly free: ArrayBuffer[] = [];
  private made = 0;
  private current: Uint8Array | undefined;
  private fill = 0;
  private dropping = false;
  /** A chunk not yet all copied, waiting for a buffer. */
  private pending: { chunk: Buffer; off: number; cb: () => void } | undefined;

  constructor(
    private readonly post: (m: ToWorker, transfer?: ArrayBuffer[]) => void,
    private readonly id: () => number,
    private readonly newBuffer: () => ArrayBuffer,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  /** From now on, accepts and drops every byte. */
  drop(): void {
    this.dropping = true;
    const p = this.pending;
    this.pending = undefined;
    p?.cb();
  }

  /** The buffers back from the worker; the input keeps none. */
  takeFree(): ArrayBuffer[] {
    return this.free.splice(0);
  }

  /** A buffer is back: the worker's unpack has consumed what it carried. */
  acked(buf: ArrayBuffer): void {
    this.free.push(buf);
    this.pump();
  }

  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.dropping) {
      cb();
      return;
    }
    this.pending = { chunk, off: 0, cb: () => cb() };
    this.pump();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.dropping) {
      this.flush();
      this.post({ t: "end", id: this.id() });
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroyed before its end (a failed download): the worker's unpack ends with an error.
    if (!this.writableFinished) this.post({ t: "abort", id: this.id() });
    this.drop();
    cb(err);
  }

  /** Copies as much of the pending chunk as free buffers take; calls back once all is. */
  private pump(): void {
    const p = this.pending;
    if (p === undefined) return;
    while (p.off < p.chunk.length) {
      if (this.current === undefined) {
        const buf = this.free.pop() ?? (this.made < BUFFERS ? this.make() : undefined);
        if (buf === undefined) return; // acked() comes back here
        this.current = new Uint8Array(buf);
        this.fill = 0;
      }
      const n = Math.min(p.chunk.length - p.off, BUFFER_BYTES - this.fill);
      this.current.set(p.chunk.subarray(p.off, p.off + n), this.fill);
      p.off += n;
      this.fill += n;
      if (this.fill === BUFFER_BYTES) this.flush();
    }
    this.pending = undefined;
    p.cb();
  }

  private make(): ArrayBuffer {
    this.made++;
    return this.newBuffer();
  }

  private flush(): void {
    const cur = this.current;
    if (cur === undefined || this.fill === 0) return;
    this.post({ t: "data", id: this.id(), buf: cur.buffer as ArrayBuffer, bytes: this.fill }, [
      cur.buffer as ArrayBuffer,
    ]);
    this.current = undefined;
  }
}
