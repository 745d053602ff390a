// The snapshot store: one unpacked layer per chain ID, each an overlayfs lower dir, shared by
// every image whose layer stack starts the same way. Layout:
//   <root>/snapshots/<n>/fs          the layer's files (the lower dir)
//   <root>/snapshots/<n>/meta.json   chain ID, parent, diff ID, size, inodes, created
// `<n>` is a short number so that the lowerdir list of a tall image fits mount(2)'s page (see
// overlay-mount.ts). A layer is unpacked into `.tmp-*` and renamed into place with its metadata
// already inside, so a numbered directory is always complete; a crash leaves only `.tmp-*` or
// `.trash-*` directories, which open() removes. Reference counting and GC belong to the caller.
// A layer may unpack from its blob file or from its bytes as they download (`feed`), and
// before its parent snapshot exists: only the commit waits for the parent (`parentReady`).
import { randomBytes } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import * as path from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FailedPreconditionError, NotFoundError, errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import { fsyncDir, writeJsonAtomic } from "../util/atomic-file.js";
import type { CommandRunner } from "../util/command.js";
import { markTopDirectory } from "../util/top-directory.js";
import { chainIdOf, isSha256Digest } from "./unpack/chain-id.js";
import { WorkerLayerUnpack } from "./unpack/worker-unpack.js";

export interface SnapshotInfo {
  chainId: string;
  /** Chain ID of the snapshot below, null for a bottom layer. */
  parent: string | null;
  diffId: string;
  /** Bytes of file content the layer unpacked to. */
  size: bigint;
  inodes: number;
  /** RFC 3339 time the snapshot was committed. */
  created: string;
  /** Directory name under the snapshots dir. */
  key: string;
  /** The overlay lower dir. */
  fsDir: string;
}

export interface PrepareLayer {
  parent: string | null;
  /** From the image config's rootfs.diff_ids; the unpacked tar must hash to it. */
  diffId: string;
  /** Path of the layer blob in the content store (unless `feed` is given). */
  blob?: string;
  /**
   * Writes the layer blob's bytes into `input` and ends it, resolving only once they are known
   * to be the blob's (digest and size verified). The snapshot is committed only after that.
   */
  feed?: (input: Writable) => Promise<void>;
  /** Names the layer in errors (default: the blob path). */
  what?: string;
  mediaType: string;
  /**
   * Settles once the parent snapshot is committed or has failed: the layer then unpacks at once
   * and waits for it only to commit. Without it the parent must exist already.
   */
  parentReady?: Promise<unknown>;
}

interface SnapshotMeta {
  version: 1;
  chainId: string;
  parent: string | null;
  diffId: string;
  size: string;
  inodes: number;
  created: string;
}

const META = "meta.json";
const FS = "fs";
const TMP_PREFIX = ".tmp-";
const TRASH_PREFIX = ".trash-";

export class SnapshotStore {
  private readonly byChain = new Map<string, SnapshotInfo>();
  private readonly inflight = new Map<string, Promise<SnapshotInfo>>();
  private nextKey = 1;

  private constructor(
    /** `<root>/snapshots` */
    readonly dir: string,
    private readonly runner: CommandRunner,
    private readonly logger: Logger,
  ) {}

  /**
   * Opens (creating) `<root>/snapshots`, marks it a top directory (top-directory.ts), drops crash
   * leftovers and loads every snapshot.
   */
  static async open(opts: {
    root: string;
    runner: CommandRunner;
    logger: Logger;
  }): Promise<SnapshotStore> {
    const store = new SnapshotStore(path.join(opts.root, "snapshots"), opts.runner, opts.logger);
    await fs.mkdir(store.dir, { recursive: true, mode: 0o700 });
    // Each snapshot in a block group of its own: see top-directory.ts.
    await markTopDirectory(opts.runner, store.dir, opts.logger);
    await store.load();
    return store;
  }

  get(chainId: string): SnapshotInfo | undefined {
    const s = this.byChain.get(chainId);
    return s && { ...s };
  }

  list(): SnapshotInfo[] {
    return [...this.byChain.values()].map((s) => ({ ...s }));
  }

  /**
   * Returns the snapshot of `layer`, unpacking it first if needed. The parent must exist.
   * Concurrent calls for one chain ID share a single unpack.
   */
  prepare(layer: PrepareLayer): Promise<SnapshotInfo> {
    let chainId: string;
    try {
      chainId = chainIdOf(layer.parent, layer.diffId);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(errorMessage(err)));
    }
    const existing = this.get(chainId);
    if (existing) return Promise.resolve(existing);
    let pending = this.inflight.get(chainId);
    if (!pending) {
      pending = this.unpack(chainId, layer).finally(() => this.inflight.delete(chainId));
      this.inflight.set(chainId, pending);
    }
    return pending.then((s) => ({ ...s }));
  }

  /** Overlay lower dirs of the stack ending at `chainId`, topmost first. */
  lowerDirs(chainId: string): string[] {
    const dirs: string[] = [];
    let id: string | null = chainId;
    while (id !== null) {
      const s = this.byChain.get(id);
      if (!s) throw new NotFoundError(`snapshot ${id} not found`);
      dirs.push(s.fsDir);
      id = s.parent;
    }
    return dirs;
  }

  /** Removes a snapshot; absent is fine. A snapshot that is another's parent stays. */
  async remove(chainId: string): Promise<void> {
    const s = this.byChain.get(chainId);
    if (!s) return;
    const child = [...this.byChain.values()].find((c) => c.parent === chainId);
    if (child) {
      throw new FailedPreconditionError(`snapshot ${chainId} is the parent of ${child.chainId}`);
    }
    // Rename first: the snapshot disappears atomically, a crash leaves only trash behind.
    const trash = path.join(this.dir, `${TRASH_PREFIX}${s.key}-${randomBytes(4).toString("hex")}`);
    await fs.rename(path.join(this.dir, s.key), trash);
    this.byChain.delete(chainId);
    await fsyncDir(this.dir);
    await fs.rm(trash, { recursive: true, force: true });
  }

  /** Disk use of the snapshots dir: allocated bytes and distinct inodes (hardlinks once). */
  async usage(): Promise<{ bytes: bigint; inodes: bigint }> {
    const seen = new Set<string>();
    let bytes = 0n;
    const stack = [this.dir];
    while (stack.length > 0) {
      const p = stack.pop() as string;
      let st;
      try {
        st = await fs.lstat(p, { bigint: true });
      } catch {
        continue; // removed while we walked
      }
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
      bytes += st.blocks * 512n;
      if (st.isDirectory()) {
        const names = await fs.readdir(p).catch(() => [] as string[]);
        for (const n of names) stack.push(path.join(p, n));
      }
    }
    return { bytes, inodes: BigInt(seen.size) };
  }

  private async unpack(chainId: string, layer: PrepareLayer): Promise<SnapshotInfo> {
    if (layer.parentReady === undefined) this.checkParent(chainId, layer.parent);
    const what = layer.what ?? `layer ${layer.blob ?? layer.diffId}`;
    const tmp = path.join(this.dir, `${TMP_PREFIX}${randomBytes(8).toString("hex")}`);
    await fs.mkdir(tmp, { mode: 0o700 });
    let unpack: WorkerLayerUnpack | undefined;
    try {
      const fsDir = path.join(tmp, FS);
      await fs.mkdir(fsDir);
      await fs.chmod(fsDir, 0o755);
      const opts = {
        mediaType: layer.mediaType,
        target: fsDir,
        runner: this.runner,
        logger: this.logger.child({ chainId, diffId: layer.diffId }),
        what,
      };
      unpack = new WorkerLayerUnpack(opts);
      const { input } = unpack;
      const feeding = (async () => {
        try {
          if (layer.feed) await layer.feed(input);
          else
            await pipeline(
              createReadStream(required(layer.blob), { highWaterMark: 1 << 20 }),
              input,
            );
        } finally {
          // A feed that failed, or returned without ending the input, ends the unpack too.
          if (!input.writableFinished) input.destroy();
        }
      })();
      const [fed, unpacked] = await Promise.allSettled([feeding, unpack.done]);
      // The download's error (a digest mismatch, a stalled registry) is the cause of anything
      // the unpack saw; only bytes known to be the blob's make the unpack's error the answer.
      if (fed.status === "rejected") throw asError(fed.reason);
      if (unpacked.status === "rejected") throw asError(unpacked.reason);
      await layer.parentReady?.catch(() => undefined);
      this.checkParent(chainId, layer.parent);
      const result = await unpack.finish(layer.parent === null ? [] : this.lowerDirs(layer.parent));
      if (result.diffId !== layer.diffId) {
        throw new FailedPreconditionError(
          `${what} unpacks to diff ID ${result.diffId}, the image config says ${layer.diffId}`,
        );
      }
      const meta: SnapshotMeta = {
        version: 1,
        chainId,
        parent: layer.parent,
        diffId: layer.diffId,
        size: result.size.toString(),
        inodes: result.inodes,
        created: new Date().toISOString(),
      };
      await writeJsonAtomic(path.join(tmp, META), meta);
      const key = String(this.nextKey++);
      await fs.rename(tmp, path.join(this.dir, key));
      await fsyncDir(this.dir);
      const info = infoOf(this.dir, key, meta);
      this.byChain.set(chainId, info);
      this.logger.info(
        { chainId, key, size: meta.size, inodes: meta.inodes },
        "snapshot committed",
      );
      return info;
    } catch (err) {
      // The unpack writes nothing more once `done` has settled (and a worker, once closed).
      await unpack?.close();
      await fs.rm(tmp, { recursive: true, force: true });
      throw err;
    } finally {
      await unpack?.close();
    }
  }

  private checkParent(chainId: string, parent: string | null): void {
    if (parent !== null && !this.byChain.has(parent)) {
      throw new FailedPreconditionError(`parent snapshot ${parent} of ${chainId} does not exist`);
    }
  }

  private async load(): Promise<void> {
    for (const name of await fs.readdir(this.dir)) {
      const p = path.join(this.dir, name);
      if (name.startsWith(TMP_PREFIX) || name.startsWith(TRASH_PREFIX)) {
        this.logger.info({ dir: p }, "removing an unfinished snapshot left by a crash");
        await fs.rm(p, { recursive: true, force: true });
        continue;
      }
      if (!/^[1-9]\d*$/.test(name)) {
        this.logger.warn({ dir: p }, "unexpected entry in the snapshots dir left alone");
        continue;
      }
      this.nextKey = Math.max(this.nextKey, Number(name) + 1);
      const meta = await readMeta(path.join(p, META));
      if (meta === undefined || this.byChain.has(meta.chainId)) {
        this.logger.warn({ dir: p }, "removing a snapshot with missing, bad or duplicate metadata");
        await fs.rm(p, { recursive: true, force: true });
        continue;
      }
      this.byChain.set(meta.chainId, infoOf(this.dir, name, meta));
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err));
}

function required(blob: string | undefined): string {
  if (blob === undefined) throw new FailedPreconditionError("a layer needs a blob or a feed");
  return blob;
}

function infoOf(dir: string, key: string, meta: SnapshotMeta): SnapshotInfo {
  return {
    chainId: meta.chainId,
    parent: meta.parent,
    diffId: meta.diffId,
    size: BigInt(meta.size),
    inodes: meta.inodes,
    created: meta.created,
    key,
    fsDir: path.join(dir, key, FS),
  };
}

async function readMeta(file: string): Promise<SnapshotMeta | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, "utf8"));
  } catch {
    return undefined;
  }
  return parseMeta(raw);
}

/** Validates snapshot metadata read from disk (exported for tests). */
export function parseMeta(raw: unknown): SnapshotMeta | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  const { chainId, parent, diffId, size, inodes, created } = m;
  if (m.version !== 1 || typeof chainId !== "string" || typeof diffId !== "string")
    return undefined;
  if (parent !== null && typeof parent !== "string") return undefined;
  if (typeof size !== "string" || !/^\d+$/.test(size)) return undefined;
  if (typeof inodes !== "number" || typeof created !== "string") return undefined;
  if (!isSha256Digest(diffId) || (parent !== null && !isSha256Digest(parent))) return undefined;
  if (chainIdOf(parent, diffId) !== chainId) return undefined;
  return { version: 1, chainId, parent, diffId, size, inodes, created };
}
