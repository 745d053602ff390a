// Content-addressed blob storage under `<root>/content/blobs/<alg>/<hex>`. A blob is written to
// `<root>/content/ingest/`, hashed and counted as it arrives, verified against its digest and
// size, fsynced and only then renamed into place: a file under blobs/ is always complete and
// correct. Whatever a crash leaves in ingest/ is removed when the store is opened. Concurrent
// writes of one digest share a single download.
// Layer blobs are not kept (as in CRI-O): `stream` verifies a blob on its way to the unpack and
// stores nothing; the snapshot is what stays. Manifests and configs are stored.
import { createHash, randomBytes } from "node:crypto";
import { type WriteStream, createReadStream, createWriteStream, promises as fs } from "node:fs";
import * as path from "node:path";
import { Readable, Transform, Writable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FailedPreconditionError, isErrno } from "../errors.js";
import { fsyncDir } from "../util/atomic-file.js";
import {
  DigestMismatchError,
  VerifyingStream,
  parseDigest,
  verifyBytes,
  type DigestAlgorithm,
} from "./registry/digest.js";

export type ProgressCallback = (bytesDone: number, total: number) => void;

export interface ContentUsage {
  bytes: bigint;
  inodes: bigint;
}

const ALGORITHMS: readonly DigestAlgorithm[] = ["sha256", "sha512"];
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/**
 * Counts and hashes bytes on their way to disk; fails early past the announced size. Without an
 * algorithm it only counts: the source verifies the digest itself.
 */
class IngestMeter extends Transform {
  readonly hash;
  count = 0;
  constructor(
    algorithm: DigestAlgorithm | undefined,
    private readonly size: number,
    private readonly what: string,
    private readonly onProgress: ProgressCallback | undefined,
  ) {
    super();
    this.hash = algorithm === undefined ? undefined : createHash(algorithm);
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.count += chunk.length;
    if (this.count > this.size) {
      cb(new DigestMismatchError(`${this.what}: more than the expected ${this.size} bytes`));
      return;
    }
    this.hash?.update(chunk);
    this.onProgress?.(this.count, this.size);
    cb(null, chunk);
  }
}

/**
 * A registry stream verifies digest and size itself and errors instead of ending when they
 * differ: hashing its bytes a second time would only cost CPU.
 */
function verifiesItself(source: Readable, digest: string, size: number): boolean {
  return source instanceof VerifyingStream && source.digest === digest && source.size === size;
}

/** Throws unless the meter saw exactly `size` bytes hashing to `digest` (when it hashed). */
function checkIngested(meter: IngestMeter, digest: string, size: number, what: string): void {
  if (meter.count !== size) {
    throw new DigestMismatchError(`${what}: got ${meter.count} bytes, expected ${size}`);
  }
  if (meter.hash) {
    const actual = `${parseDigest(digest).algorithm}:${meter.hash.digest("hex")}`;
    if (actual !== digest) throw new DigestMismatchError(`${what}: content has digest ${actual}`);
  }
}

export class ContentStore {
  private readonly inflight = new Map<string, Promise<void>>();
  readonly blobsDir: string;
  readonly ingestDir: string;

  private constructor(readonly root: string) {
    this.blobsDir = path.join(root, "content", "blobs");
    this.ingestDir = path.join(root, "content", "ingest");
  }

  /** Opens (creating) the store under `root`, discarding partial downloads a crash left behind. */
  static async open(root: string): Promise<ContentStore> {
    const store = new ContentStore(root);
    await fs.rm(store.ingestDir, { recursive: true, force: true });
    await fs.mkdir(store.ingestDir, { recursive: true, mode: 0o700 });
    for (const alg of ALGORITHMS)
      await fs.mkdir(path.join(store.blobsDir, alg), { recursive: true });
    return store;
  }

  /** Where the blob lives (whether or not it is there yet). */
  path(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return path.join(this.blobsDir, algorithm, hex);
  }

  async has(digest: string): Promise<boolean> {
    try {
      return (await fs.stat(this.path(digest))).isFile();
    } catch (err) {
      if (isErrno(err, "ENOENT")) return false;
      throw err;
    }
  }

  /** The stored blob's size in bytes, or undefined when absent. */
  async size(digest: string): Promise<number | undefined> {
    try {
      return (await fs.stat(this.path(digest))).size;
    } catch (err) {
      if (isErrno(err, "ENOENT")) return undefined;
      throw err;
    }
  }

  /**
   * Makes sure the blob is stored: does nothing when it already is, joins a write of the same
   * digest already under way, and otherwise calls `open` once and stores what it yields.
   * Resolves to the blob's path.
   */
  async ensure(
    digest: string,
    size: number,
    open: () => Promise<Readable>,
    onProgress?: ProgressCallback,
  ): Promise<string> {
    const running = this.inflight.get(digest);
    if (running) {
      await running;
    } else {
      const job = (async () => {
        if (await this.has(digest)) return;
        await this.ingest(digest, size, await open(), onProgress);
      })();
      this.inflight.set(digest, job);
      try {
        await job;
      } finally {
        this.inflight.delete(digest);
      }
    }
    return this.path(digest);
  }

  /**
   * Passes the blob's bytes to `tap` and ends it, keeping nothing: from the stored blob when the
   * store has it (an earlier berth kept layer blobs), else from `open`, counted, and verified
   * against `digest` and `size`. Like `ensure`, it resolves only once the bytes are known to be
   * the blob's; `tap` may have seen all of them before a mismatch rejects it (and is then
   * destroyed).
   */
  async stream(
    digest: string,
    size: number,
    open: () => Promise<Readable>,
    tap: Writable,
    onProgress?: ProgressCallback,
  ): Promise<void> {
    if (await this.has(digest)) {
      await pipeline(createReadStream(this.path(digest), { highWaterMark: 1 << 20 }), tap);
      return;
    }
    const { algorithm } = parseDigest(digest);
    const what = `blob ${digest}`;
    let source: Readable | undefined;
    try {
      source = await open();
      const meter = new IngestMeter(
        verifiesItself(source, digest, size) ? undefined : algorithm,
        size,
        what,
        onProgress,
      );
      await pipeline(source, meter, tap);
      checkIngested(meter, digest, size, what);
    } catch (err) {
      if (source && !source.destroyed) source.destroy();
      if (!tap.destroyed) tap.destroy(err instanceof Error ? err : undefined);
      throw err;
    }
  }

  /** Stores `readable`'s bytes as `digest`; the stream is discarded if the blob is already stored. */
  async writeStream(
    digest: string,
    size: number,
    readable: Readable,
    onProgress?: ProgressCallback,
  ): Promise<string> {
    let used = false;
    try {
      return await this.ensure(
        digest,
        size,
        async () => {
          used = true;
          return readable;
        },
        onProgress,
      );
    } finally {
      if (!used) readable.destroy();
    }
  }

  /** Stores a small document (manifest, config) held in memory, verified. */
  async writeBytes(digest: string, bytes: Buffer): Promise<string> {
    verifyBytes(bytes, digest, undefined, `blob ${digest}`);
    return this.writeStream(digest, bytes.length, Readable.from([bytes]));
  }

  private async ingest(
    digest: string,
    size: number,
    source: Readable,
    onProgress?: ProgressCallback,
  ): Promise<void> {
    const { algorithm } = parseDigest(digest);
    const what = `blob ${digest}`;
    const target = this.path(digest);
    const tmp = path.join(
      this.ingestDir,
      `${path.basename(target)}.${randomBytes(6).toString("hex")}.partial`,
    );
    let file: WriteStream | undefined;
    try {
      const meter = new IngestMeter(
        verifiesItself(source, digest, size) ? undefined : algorithm,
        size,
        what,
        onProgress,
      );
      file = createWriteStream(tmp, { flags: "wx", mode: 0o644, highWaterMark: 1 << 20 });
      await pipeline(source, meter, file);
      checkIngested(meter, digest, size, what);
      // fsync through a fresh descriptor: it flushes the file's pages whoever wrote them.
      const fh = await fs.open(tmp, "r");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, target);
      await fsyncDir(path.dirname(target));
    } catch (err) {
      if (!source.destroyed) source.destroy();
      // The file stream opens its file in the background: a failure that came first must not
      // remove the name before that open has made it.
      if (file && !file.closed) {
        const f = file;
        f.destroy();
        await new Promise<void>((resolve) => f.once("close", () => resolve()));
      }
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  async readBytes(digest: string, limit = MAX_JSON_BYTES): Promise<Buffer> {
    const p = this.path(digest);
    const st = await fs.stat(p);
    if (st.size > limit)
      throw new FailedPreconditionError(`blob ${digest}: ${st.size} bytes is too large to read`);
    return fs.readFile(p);
  }

  async readJson(digest: string): Promise<unknown> {
    const bytes = await this.readBytes(digest);
    try {
      return JSON.parse(bytes.toString("utf8")) as unknown;
    } catch (err) {
      throw new FailedPreconditionError(`blob ${digest} is not JSON`, { cause: err });
    }
  }

  /** Removes the blob; absent blobs are fine. */
  async delete(digest: string): Promise<void> {
    await fs.rm(this.path(digest), { force: true });
  }

  /** Every stored digest. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const alg of ALGORITHMS) {
      let names: string[];
      try {
        names = await fs.readdir(path.join(this.blobsDir, alg));
      } catch (err) {
        if (isErrno(err, "ENOENT")) continue;
        throw err;
      }
      for (const n of names) {
        const digest = `${alg}:${n}`;
        try {
          parseDigest(digest);
          out.push(digest);
        } catch {
          // Not a blob name: ignore.
        }
      }
    }
    return out.sort();
  }

  /** Bytes and inodes used by the store (blobs and partial downloads, directories included). */
  async usage(): Promise<ContentUsage> {
    const total: ContentUsage = { bytes: 0n, inodes: 0n };
    await walk(path.join(this.root, "content"), total);
    return total;
  }
}

async function walk(dir: string, total: ContentUsage): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, "ENOENT")) return;
    throw err;
  }
  total.inodes += 1n;
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      await walk(p, total);
      continue;
    }
    try {
      const st = await fs.lstat(p, { bigint: true });
      total.bytes += st.size;
      total.inodes += 1n;
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
    }
  }
}
