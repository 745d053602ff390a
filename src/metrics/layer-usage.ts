// Disk usage of containers' writable layers (the overlay upper dirs), measured in the background
// and cached: walking a tree is never done on a scrape or an RPC. Each container is measured
// soon after it is first asked about, then every `refreshMs`. Usage counts allocated blocks
// (st_blocks × 512) and distinct inodes, hard links once, as `du` does.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { isMissingFileError } from "../cgroup/cgroup-files.js";
import type { LayerUsage } from "./stats-sample.js";

export interface DirUsage {
  bytes: bigint;
  inodes: bigint;
}

const STAT_BATCH = 32;

/** Walks `dir` (not following symlinks); undefined when it does not exist. */
export async function measureDirUsage(dir: string): Promise<DirUsage | undefined> {
  const seen = new Set<string>();
  let bytes = 0n;
  const count = (st: { dev: bigint; ino: bigint; blocks: bigint }): void => {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    bytes += st.blocks * 512n;
  };
  try {
    count(await fs.lstat(dir, { bigint: true }));
  } catch (err: unknown) {
    if (isMissingFileError(err)) return undefined;
    throw err;
  }
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    let names: string[];
    try {
      names = await fs.readdir(current);
    } catch (err: unknown) {
      if (isMissingFileError(err)) continue; // removed while we walked
      throw err;
    }
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      const batch = names.slice(i, i + STAT_BATCH).map((n) => path.join(current, n));
      const stats = await Promise.all(
        batch.map((p) => fs.lstat(p, { bigint: true }).catch(() => undefined)),
      );
      stats.forEach((st, j) => {
        if (st === undefined) return;
        count(st);
        if (st.isDirectory()) pending.push(batch[j] as string);
      });
    }
  }
  return { bytes, inodes: BigInt(seen.size) };
}

export interface LayerUsageOptions {
  /** The directory measured for a container id (its overlay upper dir). */
  dirOf: (id: string) => string;
  refreshMs?: number;
  measure?: (dir: string) => Promise<DirUsage | undefined>;
  nowNs: () => bigint;
  onError?: (id: string, err: unknown) => void;
}

export class LayerUsageCache {
  private readonly usage = new Map<string, LayerUsage>();
  /** Ids asked about since the last pass; the next pass measures exactly these. */
  private wanted = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly refreshMs: number;
  private readonly measure: (dir: string) => Promise<DirUsage | undefined>;

  constructor(private readonly opts: LayerUsageOptions) {
    this.refreshMs = opts.refreshMs ?? 30_000;
    this.measure = opts.measure ?? measureDirUsage;
  }

  /** The last measurement of `id`; a container never measured is measured soon. */
  get(id: string): LayerUsage | undefined {
    this.wanted.add(id);
    const u = this.usage.get(id);
    if (u === undefined) this.schedule(0);
    return u;
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.running !== undefined) return;
    if (this.timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.pass().finally(() => {
        this.running = undefined;
        this.schedule(this.refreshMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Measures every container asked about since the last pass, one at a time; containers nobody
   * asked about (removed, or no scrape for a whole period) are forgotten.
   */
  private async pass(): Promise<void> {
    const ids = [...this.wanted];
    this.wanted = new Set();
    for (const id of this.usage.keys()) if (!ids.includes(id)) this.usage.delete(id);
    for (const id of ids) {
      if (this.closed) return;
      try {
        const u = await this.measure(this.opts.dirOf(id));
        if (u === undefined) this.usage.delete(id);
        else this.usage.set(id, { ...u, atNs: this.opts.nowNs() });
      } catch (err: unknown) {
        this.opts.onError?.(id, err);
      }
    }
  }

  /** Waits for a pass in progress; for tests. */
  async idle(): Promise<void> {
    await this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
