// The slow tier of a sample: what changes rarely or matters less per second (limits and CFS
// settings, peak usage, failcnt, pids, block I/O, PSI, process/thread/fd counts) is read once
// per cgroup when it first appears, then refreshed in the background when older than
// `refreshMs`, a few cgroups at a time so the refresh never floods libuv's thread pool ahead of
// the request path. Callers get the last reading at once.
import type { CgroupStats } from "../cgroup/index.js";
import type { ProcessCounts } from "./procfs.js";

export interface SlowRequest {
  path: string;
  /** Read the cgroup's slow sections. */
  stats: boolean;
  /** Count its processes, threads and fds. */
  procs: boolean;
}

export interface SlowReading {
  stats?: CgroupStats;
  processes?: ProcessCounts;
}

export interface SlowEntry extends SlowReading {
  atMs: number;
}

export type SlowReader = (req: SlowRequest) => Promise<SlowReading>;

export interface SlowCacheOptions {
  refreshMs?: number;
  /** Cgroups read at once by a background refresh. */
  concurrency?: number;
  nowMs?: () => number;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function keyOf(req: SlowRequest): string {
  return `${req.stats ? "s" : ""}${req.procs ? "p" : ""}:${req.path}`;
}

export class SlowStatsCache {
  private readonly entries = new Map<string, SlowEntry>();
  private refreshing: Promise<void> | undefined;
  private readonly refreshMs: number;
  private readonly concurrency: number;
  private readonly nowMs: () => number;

  constructor(
    private readonly read: SlowReader,
    opts: SlowCacheOptions = {},
  ) {
    this.refreshMs = opts.refreshMs ?? 10_000;
    this.concurrency = opts.concurrency ?? 2;
    this.nowMs = opts.nowMs ?? Date.now;
  }

  private async load(req: SlowRequest): Promise<void> {
    let reading: SlowReading;
    try {
      reading = await this.read(req);
    } catch {
      reading = {}; // the reader reports its own errors; a failed read is an empty one
    }
    this.entries.set(keyOf(req), { ...reading, atMs: this.nowMs() });
  }

  /**
   * The readings for `requests` (by path). Cgroups never read are read now (awaited); stale
   * ones are refreshed in the background; entries no longer requested are dropped.
   */
  async get(requests: readonly SlowRequest[]): Promise<Map<string, SlowEntry>> {
    const wanted = new Set(requests.map(keyOf));
    for (const k of this.entries.keys()) if (!wanted.has(k)) this.entries.delete(k);
    const missing = requests.filter((r) => !this.entries.has(keyOf(r)));
    // New cgroups are on the request path: read them all at once, as a full reading would.
    await Promise.all(missing.map((r) => this.load(r)));
    const now = this.nowMs();
    const stale = requests.filter((r) => {
      const e = this.entries.get(keyOf(r));
      return e !== undefined && now - e.atMs >= this.refreshMs;
    });
    if (stale.length > 0 && this.refreshing === undefined) {
      this.refreshing = forEachLimited(stale, this.concurrency, (r) => this.load(r)).finally(() => {
        this.refreshing = undefined;
      });
    }
    const out = new Map<string, SlowEntry>();
    for (const r of requests) {
      const e = this.entries.get(keyOf(r));
      if (e !== undefined) out.set(r.path, { ...out.get(r.path), ...e });
    }
    return out;
  }

  /** Resolves when a background refresh in progress (if any) is done. */
  async settled(): Promise<void> {
    await this.refreshing;
  }
}
