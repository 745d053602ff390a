// An idle berthd stays asleep: with no call and no pod, its main thread wakes for its few
// periodic checks (the exit dir rescan, the dead-monitor check, the heap watcher, the event-loop
// delay sample), not for a timer that fires a hundred times a second. prom-client's default
// event-loop delay sampling (10 ms) did exactly that; berth samples every 100 ms
// (EVENT_LOOP_SAMPLE_MS). A wake-up is a voluntary context switch of the main thread.
import { promises as fs } from "node:fs";
import { expect } from "chai";
import { Berthd } from "../support/berthd.js";

/** ~10/s from the delay sampling, ~3/s from the rest; 100 ms sampling's worth of slack. */
const MAX_WAKEUPS_PER_SECOND = 40;

async function mainThreadSwitches(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/task/${pid}/status`, "utf8");
  const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status);
  if (!m) throw new Error(`no voluntary_ctxt_switches for ${pid}`);
  return Number(m[1]);
}

describe("berthd idle wake-ups", function () {
  this.timeout(60_000);
  let b: Berthd | undefined;
  afterEach(async () => {
    await b?.cleanup();
    b = undefined;
  });

  it(`wakes its main thread at most ${MAX_WAKEUPS_PER_SECOND} times a second when idle`, async () => {
    b = await Berthd.start({ logLevel: "debug" });
    // After the start's own work: the heap settled and compacted.
    await b.waitForLog(/low-memory GC done/, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    const before = await mainThreadSwitches(b.pid!);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const perSecond = ((await mainThreadSwitches(b.pid!)) - before) / ((Date.now() - t0) / 1000);
    expect(perSecond, `${perSecond.toFixed(1)} wake-ups a second`).to.be.below(
      MAX_WAKEUPS_PER_SECOND,
    );
    // The event-loop delay is still measured.
    const text = await (await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).text();
    const p50 = /^berth_nodejs_eventloop_lag_p50_seconds (\S+)$/m.exec(text);
    expect(p50, "berth_nodejs_eventloop_lag_p50_seconds").to.not.equal(null);
    expect(Number(p50![1])).to.be.above(0);
  });
});
