// Gives back the young generation that startup grew. Loading ~450 modules and the CRI proto
// allocates fast, so V8 grows its semi-spaces to their maximum (16 MB) within the first second
// and keeps them until its memory reducer runs, ~15-20 s after an idle start: ~9 MB of idle RSS.
// V8 shrinks the young generation after a GC when the allocation rate over its recent GCs is low
// (it keeps the last 10 GCs' samples, up to 5 s of them); right after startup those samples
// hold startup's allocations. So, once the daemon is idle, cheap young-generation GCs 100 ms
// apart (bin/berthd passes --expose-gc) replace them with idle samples, and V8 shrinks the young
// generation ~1.5 s after the start. Then one low-memory GC (`compact`, src/util/low-memory-gc.ts)
// compacts the old generation and gives its free pages back, which V8's memory reducer would do
// only ~8 s after the start (a plain `gc()` does neither; it postpones the reducer by 8 s and
// grows the young generation again).
// Under load the young generation grows back as V8 sees fit: a hard small maximum instead
// (--max-semi-space-size=1) costs every scrape at 100 containers 8-20 ms, see bin/berthd.
// Ticks when the event loop was busy skip their GC, so a daemon given work right away does not
// pay for them; after `maxTicks` it gives up and leaves it to the memory reducer.
// keepHeapSettled (below) does the same again whenever the daemon goes quiet after a burst of
// work.
import { performance } from "node:perf_hooks";
import * as v8 from "node:v8";
import type { Logger } from "../log.js";

export interface HeapSettleDeps {
  /** A young-generation (scavenge) GC. */
  minorGc: () => void;
  /** The young generation's current capacity in bytes. */
  youngCapacity: () => number;
  /** The share of the time since the last call that the event loop was busy (0..1). */
  busyShare: () => number;
  log: Logger;
  /** A memory-reducing full GC, run once the young generation is settled (none if absent). */
  compact?: () => void;
}

export interface HeapSettleOptions {
  intervalMs: number;
  /** Ticks at most (busy ones too, so this bounds the time). */
  maxTicks: number;
  /** Done once the young generation's capacity is at most this. */
  targetBytes: number;
  /** A tick whose busy share is above this skips its GC. */
  maxBusyShare: number;
}

export const HEAP_SETTLE_DEFAULTS: HeapSettleOptions = {
  intervalMs: 100,
  maxTicks: 60,
  targetBytes: 2 * 1024 * 1024,
  maxBusyShare: 0.2,
};

/** The young generation's capacity (new_space), from V8's heap space statistics. */
export function youngGenerationCapacity(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

/** Event-loop utilization since the previous call, from perf_hooks. */
export function busyShareMeter(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, last);
    last = now;
    return delta.utilization;
  };
}

/**
 * A young-generation GC from the `gc` function node exposes with --expose-gc (a non-configurable
 * global: it stays there); undefined when node runs without the flag.
 */
export function exposedMinorGc(): (() => void) | undefined {
  const fn = (globalThis as { gc?: unknown }).gc;
  if (typeof fn !== "function") return undefined;
  const gc = fn as (opts: { type: "minor" }) => unknown;
  return () => void gc({ type: "minor" });
}

/**
 * Runs a young-generation GC on each idle tick until V8 has shrunk the young generation to
 * `targetBytes`, or `maxTicks` ticks have passed. Returns a function that
 * stops it early (on shutdown). The timer never keeps the process alive.
 */
export function settleHeapAfterStartup(
  deps: HeapSettleDeps,
  opts: HeapSettleOptions = HEAP_SETTLE_DEFAULTS,
): () => void {
  return settleHeap(deps, opts, "startup");
}

function settleHeap(
  deps: HeapSettleDeps,
  opts: HeapSettleOptions,
  what: string,
  onDone: () => void = () => undefined,
): () => void {
  let ticks = 0;
  let gcs = 0;
  let timer: NodeJS.Timeout | undefined;
  const started = performance.now();
  const schedule = () => {
    timer = setTimeout(tick, opts.intervalMs);
    timer.unref();
  };
  const tick = () => {
    timer = undefined;
    ticks++;
    const busy = deps.busyShare();
    if (busy <= opts.maxBusyShare) {
      deps.minorGc();
      gcs++;
      if (deps.youngCapacity() <= opts.targetBytes) {
        deps.log.debug(
          { ticks, gcs, ms: Math.round(performance.now() - started), young: deps.youngCapacity() },
          `${what} heap settled`,
        );
        deps.compact?.();
        onDone();
        return;
      }
    }
    if (ticks < opts.maxTicks) return schedule();
    deps.log.debug({ ticks, gcs, young: deps.youngCapacity() }, `${what} heap not settled`);
    onDone();
  };
  deps.busyShare(); // starts the meter's interval now
  schedule();
  return () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
}

export interface IdleSettleOptions extends HeapSettleOptions {
  /** How often the watcher looks at the event loop and the young generation. */
  checkMs: number;
  /** Quiet checks in a row (busy share at most maxBusyShare) before it settles. */
  quietChecks: number;
}

export const IDLE_SETTLE_DEFAULTS: IdleSettleOptions = {
  ...HEAP_SETTLE_DEFAULTS,
  checkMs: 1000,
  quietChecks: 3,
};

/**
 * The same after every burst of work: a pod churn or a pull grows the young generation to its
 * maximum again (~35 MB of RSS at 100 pods here), and V8's memory reducer gives it back only
 * ~30-60 s after the node went quiet. Once the event loop has been quiet for `quietChecks`
 * checks in a row with a young generation above the target, the settle above runs again. A
 * check is one heap-statistics read; a node that stays busy is left alone.
 */
export function keepHeapSettled(
  deps: HeapSettleDeps,
  opts: IdleSettleOptions = IDLE_SETTLE_DEFAULTS,
): () => void {
  let quiet = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopSettle: (() => void) | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(check, opts.checkMs);
    timer.unref();
  };
  const check = () => {
    timer = undefined;
    quiet = deps.busyShare() <= opts.maxBusyShare ? quiet + 1 : 0;
    if (quiet < opts.quietChecks || deps.youngCapacity() <= opts.targetBytes) return schedule();
    quiet = 0;
    stopSettle = settleHeap(deps, opts, "idle", () => {
      stopSettle = undefined;
      deps.busyShare(); // the settle's ticks are not the next check's interval
      schedule();
    });
  };
  deps.busyShare();
  schedule();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    stopSettle?.();
  };
}
