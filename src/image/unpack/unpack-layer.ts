// Unpacks one layer (gzip, zstd or plain tar; from a blob file or from bytes as they download)
// into an empty directory that becomes an overlayfs lower dir, and computes the layer's diff ID
// (sha256 of the uncompressed tar) on the way. A layer that tries to write outside the
// directory throws UnsafeLayerEntryError; the caller removes the partial directory.
import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import {
  BerthError,
  FailedPreconditionError,
  InvalidArgumentError,
  errorMessage,
} from "../../errors.js";
import type { CommandRunner } from "../../util/command.js";
import {
  compressionOfMagic,
  compressionOfMediaType,
  createDecompressor,
  type Compression,
} from "./compression.js";
import { LayerWriter, type UnpackLog } from "./layer-writer.js";
import type { UnpackFs } from "./unpack-fs.js";

export interface LayerUnpackOptions {
  /** What the registry says the layer is; the first bytes decide. */
  mediaType: string;
  /** An existing, empty directory. */
  target: string;
  runner: CommandRunner;
  logger: UnpackLog;
  /** How file system calls are made (default: through the thread pool; see unpack-fs.ts). */
  fs?: UnpackFs;
  /**
   * The writer of `input` reuses a chunk's memory once its write has called back (the unpack
   * worker's shared ring). gunzip has consumed a chunk by then; a decompressor that may keep
   * it (fzstd keeps partial frames, the plain-tar parser keeps file data) gets a copy.
   */
  reusedInput?: boolean;
  /** Defaults to "running as root". Without it owners are not set and devices are skipped. */
  privileged?: boolean;
  /** Names the layer in errors and logs, e.g. "layer sha256:…". */
  what: string;
}

export interface UnpackLayerOptions extends Omit<LayerUnpackOptions, "what"> {
  /** Path of the (compressed) layer blob. */
  blob: string;
  /** Lower layers' dirs, topmost first: parent dirs the tar leaves out copy their metadata. */
  parents?: readonly string[];
}

export interface UnpackLayerResult {
  /** "sha256:<hex>" of the uncompressed tar stream. */
  diffId: string;
  compression: Compression;
  /** Bytes of regular file content written. */
  size: bigint;
  /** Inodes created. */
  inodes: number;
}

/**
 * One layer being unpacked from the bytes written to `input` (compressed as its first bytes
 * show). Files reach the disk as the bytes arrive; `done` settles once the whole tar is written
 * (or the unpack failed, after which nothing writes any more). `finish` then gives directories
 * their final metadata, which for directories the tar leaves out comes from the lower layers:
 * the only step that needs them, so a layer can unpack before the layers under it exist.
 */
export class LayerUnpack {
  /** Takes the layer blob's bytes; it never fails because the unpack did (see `done`). */
  readonly input: Writable;
  readonly done: Promise<void>;
  private readonly writer: LayerWriter;
  private readonly hash = createHash("sha256");
  private compression: Compression = "none";

  constructor(private readonly opts: LayerUnpackOptions) {
    const writer = new LayerWriter({
      root: opts.target,
      runner: opts.runner,
      logger: opts.logger,
      privileged: opts.privileged ?? process.getuid?.() === 0,
      ...(opts.fs ? { fs: opts.fs } : {}),
    });
    this.writer = writer;
    const extract = tar.extract();
    let isOpen = false;
    let resolvePlain: (plain: Readable) => void = () => undefined;
    const plain = new Promise<Readable>((resolve) => (resolvePlain = resolve));
    const opened = (p: Readable): void => {
      isOpen = true;
      resolvePlain(p);
    };
    const input = new SniffingInput((head) => {
      this.compression = this.chooseCompression(head);
      const d = createDecompressor(this.compression);
      opened(d);
      const reuse =
        opts.reusedInput !== true ? "none" : this.compression === "gzip" ? "wait" : "copy";
      return { sink: d, reuse };
    });
    this.input = input;
    // Whoever destroys the input with an error (a failed download) reports that error itself.
    input.on("error", () => undefined);
    // An input that goes before its end (a failed download) ends the decompressor and parser.
    input.once("close", () => {
      if (input.writableFinished) return;
      const err = new FailedPreconditionError(`${opts.what}: the layer's bytes ended early`);
      if (!isOpen) opened(failedStream(err));
      extract.destroy(err);
    });
    const feeding = plain.then((p) => feed(p, extract, (chunk) => this.hash.update(chunk)));
    const writing = (async () => {
      try {
        for await (const entry of extract) await writer.write(entry.header, entry);
      } catch (err) {
        input.drop();
        void plain.then((p) => p.destroy());
        throw err;
      }
    })();
    this.done = Promise.allSettled([feeding, writing]).then(([fed, wrote]) => {
      // The writer's error names the entry at fault; prefer it over the stream error it causes.
      if (wrote.status === "rejected") throw layerError(opts.what, wrote.reason);
      if (fed.status === "rejected") throw layerError(opts.what, fed.reason);
    });
    // Whoever awaits the unpack sees its error; left unhandled it would end the daemon.
    this.done.catch(() => undefined);
  }

  /** After `done`: directory metadata and times; what the layer unpacked to. */
  async finish(parents: readonly string[]): Promise<UnpackLayerResult> {
    await this.done;
    await this.writer.finish(parents).catch((err: unknown) => {
      throw layerError(this.opts.what, err);
    });
    return {
      diffId: `sha256:${this.hash.digest("hex")}`,
      compression: this.compression,
      size: this.writer.size,
      inodes: this.writer.inodes,
    };
  }

  /** Nothing to release in process (see WorkerLayerUnpack.close). */
  async close(): Promise<void> {}

  private chooseCompression(head: Buffer): Compression {
    const { mediaType, logger, what } = this.opts;
    const announced = compressionOfMediaType(mediaType);
    const actual = compressionOfMagic(head);
    if (announced === undefined) {
      logger.debug(
        { layer: what, mediaType, compression: actual },
        "unknown layer media type; using magic bytes",
      );
    } else if (announced !== actual) {
      logger.warn(
        { layer: what, mediaType, compression: actual },
        "layer media type disagrees with its content",
      );
    }
    return actual;
  }
}

/** Unpacks the layer blob at `opts.blob` into the empty `opts.target`. */
export async function unpackLayer(opts: UnpackLayerOptions): Promise<UnpackLayerResult> {
  const { blob, target } = opts;
  const leftovers = await fs.readdir(target);
  if (leftovers.length > 0) throw new InvalidArgumentError("target", `${target} is not empty`);
  const what = `layer ${blob}`;
  const unpack = new LayerUnpack({ ...opts, what });
  const [read] = await Promise.allSettled([
    pipeline(createReadStream(blob, { highWaterMark: 1 << 20 }), unpack.input),
    unpack.done,
  ]);
  await unpack.done; // its error names the entry at fault
  if (read.status === "rejected") throw layerError(what, read.reason);
  return unpack.finish(opts.parents ?? []);
}

const MAGIC_BYTES = 4;

type Reuse = "none" | "wait" | "copy";

/**
 * Holds the first bytes until the compression they show is known, then passes everything on to
 * the decompressor `open` returns for them, with its backpressure. When the unpack fails it
 * takes and drops the rest: the unpack reports its error itself, and the download feeding it
 * goes on to its digest check, so a corrupted blob fails as such rather than as a bad tar.
 */
class SniffingInput extends Writable {
  private head: Buffer[] = [];
  private headBytes = 0;
  private sink: Writable | undefined;
  /**
   * With a writer that reuses chunk memory (LayerUnpackOptions.reusedInput): a write calls
   * back once the sink has consumed the chunk ("wait"), or the sink gets a copy ("copy").
   */
  private reuse: Reuse = "none";
  private dropping = false;
  /** The callback of a write waiting for the sink to drain. */
  private waiting: (() => void) | undefined;

  constructor(private readonly open: (head: Buffer) => { sink: Writable; reuse: Reuse }) {
    // Room for a few network reads: the download need not wait for every chunk to unpack.
    super({ highWaterMark: 1 << 20 });
  }

  /** From now on, accepts and drops every byte. */
  drop(): void {
    this.dropping = true;
    const cb = this.waiting;
    this.waiting = undefined;
    cb?.();
  }

  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    const sink = this.dropping ? undefined : (this.sink ?? this.start(chunk));
    if (sink === undefined || this.dropping) {
      cb();
      return;
    }
    const data =
      this.head.length > 0 ? this.takeHead() : this.reuse === "copy" ? Buffer.from(chunk) : chunk;
    const resume = (): void => {
      if (this.waiting !== resume) return;
      this.waiting = undefined;
      cb();
    };
    this.waiting = resume;
    if (this.reuse === "wait" && data === chunk) {
      // A Transform calls a write back once it has consumed the chunk (or was destroyed).
      sink.write(data, () => resume());
      return;
    }
    if (sink.write(data)) {
      this.waiting = undefined;
      cb();
      return;
    }
    sink.once("drain", resume);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.dropping) {
      const sink = this.sink ?? this.attach(this.open(Buffer.concat(this.head, this.headBytes)));
      if (this.head.length > 0) sink.write(this.takeHead());
      if (!this.dropping) sink.end();
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const sink = this.sink;
    // Destroyed after a normal finish (autoDestroy), the sink still works through its input.
    if (this.writableFinished && err === null) {
      cb(null);
      return;
    }
    if (sink && !sink.destroyed && !sink.writableFinished) {
      sink.destroy(err ?? new Error("layer input closed early"));
    }
    cb(err);
  }

  /** Collects `chunk`; once enough bytes are in, opens the sink. */
  private start(chunk: Buffer): Writable | undefined {
    // Kept past this write's callback: a copy (the writer may reuse the chunk's memory).
    this.head.push(Buffer.from(chunk));
    this.headBytes += chunk.length;
    if (this.headBytes < MAGIC_BYTES) return undefined;
    const headBytes = Buffer.concat(this.head, this.headBytes);
    this.head = [headBytes];
    return this.attach(this.open(headBytes));
  }

  private attach(opened: { sink: Writable; reuse: Reuse }): Writable {
    const { sink } = opened;
    this.sink = sink;
    this.reuse = opened.reuse;
    // The sink's failure reaches the unpack through the decompressed stream; here it only
    // means there is nowhere to put the bytes.
    sink.once("error", () => this.drop());
    sink.once("close", () => {
      if (!sink.writableFinished) this.drop();
    });
    return sink;
  }

  private takeHead(): Buffer {
    const all = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head, this.headBytes);
    this.head = [];
    this.headBytes = 0;
    return all;
  }
}

/** A stream that has already failed with `err` (its reader sees the error, nobody else). */
function failedStream(err: Error): Readable {
  const r = new Readable({ read: () => undefined });
  r.on("error", () => undefined);
  r.destroy(err);
  return r;
}

/** Copies the uncompressed stream into the tar parser, honouring its backpressure. */
async function feed(
  plain: Readable,
  extract: tar.Extract,
  tap: (chunk: Buffer) => void,
): Promise<void> {
  try {
    for await (const chunk of plain) {
      const buf = chunk as Buffer;
      tap(buf);
      if (extract.destroyed) return;
      if (!extract.write(buf)) await drained(extract);
    }
    extract.end(undefined);
  } catch (err) {
    extract.destroy(err instanceof Error ? err : new Error(errorMessage(err)));
    throw err;
  }
}

function drained(w: tar.Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      w.off("drain", done);
      w.off("close", done);
      w.off("error", done);
      resolve();
    };
    w.on("drain", done);
    w.on("close", done);
    w.on("error", done);
  });
}

function layerError(what: string, err: unknown): Error {
  if (err instanceof BerthError) return err;
  return new FailedPreconditionError(`cannot unpack ${what}: ${errorMessage(err)}`, {
    cause: err,
  });
}
