import { execFileSync } from "node:child_process";
import { expect } from "chai";
import { silentLogger } from "../../../src/log.js";
import {
  busyShareMeter,
  exposedMinorGc,
  type HeapSettleOptions,
  type IdleSettleOptions,
  keepHeapSettled,
  settleHeapAfterStartup,
  youngGenerationCapacity,
} from "../../../src/util/heap-settle.js";

const OPTS: HeapSettleOptions = {
  intervalMs: 5,
  maxTicks: 8,
  targetBytes: 1024,
  maxBusyShare: 0.2,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("settleHeapAfterStartup", () => {
  it("runs young-generation GCs on idle ticks until the young generation is at the target", async () => {
    let capacity = 16 * 1024;
    let gcs = 0;
    const compacts: number[] = [];
    // V8 shrinks on the third GC here (in V8 it is when its allocation samples are idle ones).
    const stop = settleHeapAfterStartup(
      {
        minorGc: () => {
          gcs++;
          if (gcs === 3) capacity = 1024;
        },
        youngCapacity: () => capacity,
        busyShare: () => 0,
        log: silentLogger(),
        compact: () => compacts.push(gcs),
      },
      OPTS,
    );
    await sleep(OPTS.intervalMs * OPTS.maxTicks * 4);
    stop();
    expect(gcs).to.equal(3);
    expect(compacts, "one low-memory GC, once settled").to.deep.equal([3]);
  });

  it("skips busy ticks and gives up after maxTicks", async () => {
    let gcs = 0;
    let calls = 0;
    let compacts = 0;
    const stop = settleHeapAfterStartup(
      {
        minorGc: () => void gcs++,
        youngCapacity: () => 16 * 1024,
        // The first call starts the meter; then every other tick is busy.
        busyShare: () => (calls++ % 2 === 1 ? 0.9 : 0),
        log: silentLogger(),
        compact: () => void compacts++,
      },
      OPTS,
    );
    await sleep(OPTS.intervalMs * OPTS.maxTicks * 6);
    stop();
    expect(calls).to.equal(1 + OPTS.maxTicks);
    expect(gcs).to.equal(OPTS.maxTicks / 2);
    expect(compacts, "no full GC for a daemon that stayed busy").to.equal(0);
  });

  it("does nothing more once stopped", async () => {
    let gcs = 0;
    const stop = settleHeapAfterStartup(
      {
        minorGc: () => void gcs++,
        youngCapacity: () => 16 * 1024,
        busyShare: () => 0,
        log: silentLogger(),
      },
      { ...OPTS, intervalMs: 20 },
    );
    stop();
    await sleep(100);
    expect(gcs).to.equal(0);
  });
});

describe("keepHeapSettled", () => {
  const IDLE: IdleSettleOptions = { ...OPTS, checkMs: 5, quietChecks: 3 };

  it("settles again once quiet after a burst grew the young generation, and only then", async () => {
    let capacity = 1024;
    let busy = 0;
    let gcs = 0;
    let compacts = 0;
    const stop = keepHeapSettled(
      {
        minorGc: () => {
          gcs++;
          if (gcs % 2 === 0) capacity = 1024; // V8 shrinks on the second GC of a settle
        },
        youngCapacity: () => capacity,
        busyShare: () => busy,
        log: silentLogger(),
        compact: () => void compacts++,
      },
      IDLE,
    );
    await sleep(60);
    expect(gcs, "young generation at the target: nothing to do").to.equal(0);
    busy = 0.9; // a burst of work grows it
    capacity = 16 * 1024;
    await sleep(60);
    expect(gcs, "busy: left alone").to.equal(0);
    busy = 0;
    await sleep(150);
    expect([gcs, capacity]).to.deep.equal([2, 1024]);
    capacity = 16 * 1024; // and again after the next burst
    await sleep(150);
    stop();
    expect([gcs, capacity]).to.deep.equal([4, 1024]);
    expect(compacts, "a low-memory GC after each settle").to.equal(2);
  });

  it("does nothing more once stopped", async () => {
    let gcs = 0;
    const stop = keepHeapSettled(
      {
        minorGc: () => void gcs++,
        youngCapacity: () => 16 * 1024,
        busyShare: () => 0,
        log: silentLogger(),
      },
      IDLE,
    );
    await sleep(100); // settling, never reaching the target
    stop();
    const seen = gcs;
    expect(seen).to.be.above(0);
    await sleep(100);
    expect(gcs).to.equal(seen);
  });
});

describe("heap-settle's V8 probes", () => {
  it("reads the young generation's capacity", () => {
    expect(youngGenerationCapacity()).to.be.greaterThan(0);
  });

  it("measures the event loop's busy share since the last call", async () => {
    const meter = busyShareMeter();
    const t0 = Date.now();
    while (Date.now() - t0 < 50); // busy
    expect(meter()).to.be.greaterThan(0.5);
    await sleep(100); // idle
    expect(meter()).to.be.lessThan(0.5);
  });

  it("has no GC function without --expose-gc, and one that runs a young GC with it", () => {
    expect(typeof (globalThis as { gc?: unknown }).gc === "function").to.equal(
      exposedMinorGc() !== undefined,
    );
    // In a node with the flag (as bin/berthd runs it): a scavenge, seen by perf_hooks.
    const script = `
      const { PerformanceObserver, constants } = require("node:perf_hooks");
      const { exposedMinorGc } = require(${JSON.stringify(require.resolve("../../../src/util/heap-settle.js"))});
      const kinds = [];
      const obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => kinds.push(e.detail.kind)));
      obs.observe({ entryTypes: ["gc"] });
      exposedMinorGc()();
      setTimeout(() => { obs.disconnect(); console.log(JSON.stringify({ kinds, minor: constants.NODE_PERFORMANCE_GC_MINOR })); }, 50);
    `;
    const out = execFileSync(process.execPath, ["--expose-gc", "-e", script], {
      encoding: "utf8",
    });
    const { kinds, minor } = JSON.parse(out) as { kinds: number[]; minor: number };
    expect(kinds).to.include(minor);
  });
});
