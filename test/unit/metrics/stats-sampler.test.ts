import { expect } from "chai";
import type { HotStats } from "../../../src/metrics/hot-cgroup-read.js";
import type { SlowRequest } from "../../../src/metrics/slow-stats-cache.js";
import { SlowStatsCache } from "../../../src/metrics/slow-stats-cache.js";
import {
  StatsSampler,
  mergeStats,
  sumStats,
  withContainerOomKills,
} from "../../../src/metrics/stats-sampler.js";
import { CTR_ID, POD_ID, V1_STATS, containerTarget, podTarget } from "./fake-sample.js";

const CTR_PATH = `/berth/${POD_ID}/${CTR_ID}`;
const POD_PATH = `/berth/${POD_ID}`;

function hotOf(usageNs: bigint): HotStats {
  return { cpu: { ...V1_STATS.cpu!, usageNs }, memory: { ...V1_STATS.memory!, limit: undefined } };
}

/** A sampler over fake readers and a hand-driven clock. */
function harness(opts: { cacheMs?: number } = {}) {
  const clock = { ms: 1_000_000, ns: 5_000_000_000n };
  const cpu = new Map<string, bigint>([
    [CTR_PATH, 1_000_000_000n],
    [POD_PATH, 2_000_000_000n],
  ]);
  const calls = { hot: 0, slow: [] as SlowRequest[], net: 0 };
  let targets = [podTarget()];
  const sampler = new StatsSampler({
    setup: { mode: "v1", controllers: {} },
    listTargets: () => targets,
    cacheMs: opts.cacheMs ?? 1000,
    readHot: async (p) => {
      calls.hot++;
      const usage = cpu.get(p);
      return usage === undefined ? undefined : hotOf(usage);
    },
    readSlow: async (req) => {
      calls.slow.push(req);
      return {
        ...(req.stats ? { stats: { spec: V1_STATS.spec!, memory: V1_STATS.memory! } } : {}),
        ...(req.procs ? { processes: { processes: 1, threads: 2, fds: 3 } } : {}),
      };
    },
    readNet: async () => {
      calls.net++;
      return [];
    },
    nowMs: () => clock.ms,
    nowNs: () => clock.ns,
  });
  return { sampler, clock, cpu, calls, setTargets: (t: typeof targets) => (targets = t) };
}

describe("metrics: the shared sampler", () => {
  it("merges the hot reading with the slow tier's limits; nothing when the cgroup is gone", () => {
    const merged = mergeStats(hotOf(5n), { spec: V1_STATS.spec!, memory: V1_STATS.memory! })!;
    expect(merged.cpu!.usageNs).to.equal(5n);
    expect(merged.memory!.limit).to.equal(V1_STATS.memory!.limit);
    expect(merged.memory!.maxUsage).to.equal(V1_STATS.memory!.maxUsage);
    expect(merged.spec).to.deep.equal(V1_STATS.spec);
    expect(mergeStats(undefined, { spec: V1_STATS.spec! })).to.equal(undefined);
  });

  it("shares one pass among concurrent callers and reuses it within the cache period", async () => {
    const h = harness();
    const [a, b] = await Promise.all([h.sampler.sample(), h.sampler.sample()]);
    expect(a).to.deep.equal(b);
    expect(h.calls.hot).to.equal(2); // pod + container
    h.clock.ms += 500;
    h.clock.ns += 500_000_000n;
    expect(await h.sampler.sample()).to.deep.equal(a);
    expect(h.calls.hot).to.equal(2);
    h.clock.ms += 600;
    h.clock.ns += 600_000_000n;
    const c = await h.sampler.sample();
    expect(c.atNs).to.not.equal(a.atNs);
    expect(h.calls.hot).to.equal(4);
    await h.sampler.sample({ maxAgeMs: 0 });
    expect(h.calls.hot).to.equal(6);
  });

  it("lists a container started after the cached pass: reads it, reuses the rest", async () => {
    const h = harness();
    const first = await h.sampler.sample();
    expect(h.calls.hot).to.equal(2);
    const NEW_ID = "d".repeat(64);
    const NEW_PATH = `/berth/${POD_ID}/${NEW_ID}`;
    h.cpu.set(NEW_PATH, 7n);
    const started = containerTarget({ id: NEW_ID, cgroupPath: NEW_PATH, labels: { foo: "bar" } });
    h.setTargets([podTarget({ containers: [containerTarget(), started] })]);
    h.clock.ms += 100; // well within the cache period
    const second = await h.sampler.sample();
    const ids = second.pods[0]!.containers.map((c) => c.target.id);
    expect(ids).to.deep.equal([CTR_ID, NEW_ID]);
    expect(second.pods[0]!.containers[1]!.cgroup!.cpu!.usageNs).to.equal(7n);
    expect(second.pods[0]!.containers[1]!.target.labels).to.deep.equal({ foo: "bar" });
    expect(h.calls.hot).to.equal(5); // one new pass: pod, old container, new container
    // Now cached with the new container: no further reads.
    h.clock.ms += 100;
    await h.sampler.sample();
    expect(h.calls.hot).to.equal(5);
    expect(first.pods[0]!.containers).to.have.length(1);
  });

  it("drops a removed container and a stopped one's readings without a new pass", async () => {
    const h = harness();
    await h.sampler.sample();
    h.setTargets([podTarget({ containers: [containerTarget({ running: false })] })]);
    h.clock.ms += 100;
    const s = await h.sampler.sample();
    expect(s.pods[0]!.containers[0]!.cgroup).to.equal(undefined);
    expect(s.pods[0]!.containers[0]!.target.running).to.equal(false);
    h.setTargets([podTarget({ containers: [] })]);
    const t = await h.sampler.sample();
    expect(t.pods[0]!.containers).to.deep.equal([]);
    expect(t.pods[0]!.cgroup).to.not.equal(undefined); // the pod's reading is reused
    h.setTargets([]);
    expect((await h.sampler.sample()).pods).to.deep.equal([]);
    expect(h.calls.hot).to.equal(2);
  });

  it("a caller that arrives during a pass begun before its container existed gets it", async () => {
    const h = harness({ cacheMs: 0 });
    const NEW_ID = "d".repeat(64);
    const NEW_PATH = `/berth/${POD_ID}/${NEW_ID}`;
    h.cpu.set(NEW_PATH, 9n);
    const early = h.sampler.sample(); // lists the targets now: one container
    h.setTargets([
      podTarget({
        containers: [containerTarget(), containerTarget({ id: NEW_ID, cgroupPath: NEW_PATH })],
      }),
    ]);
    const late = await h.sampler.sample();
    await early;
    expect(late.pods[0]!.containers.map((c) => c.target.id)).to.deep.equal([CTR_ID, NEW_ID]);
    expect(late.pods[0]!.containers[1]!.cgroup!.cpu!.usageNs).to.equal(9n);
  });

  it("computes nanocores from the previous sample only", async () => {
    const h = harness();
    const first = await h.sampler.sample();
    expect(first.pods[0]!.containers[0]!.nanoCores).to.equal(undefined);
    expect(first.pods[0]!.nanoCores).to.equal(undefined);
    h.clock.ms += 2000;
    h.clock.ns += 2_000_000_000n;
    h.cpu.set(CTR_PATH, 1_000_000_000n + 1_000_000_000n); // 1 s of CPU in 2 s: half a core
    h.cpu.set(POD_PATH, 2_000_000_000n + 3_000_000_000n);
    const second = await h.sampler.sample();
    expect(second.pods[0]!.containers[0]!.nanoCores).to.equal(500_000_000n);
    expect(second.pods[0]!.nanoCores).to.equal(1_500_000_000n);
    const c = second.pods[0]!.containers[0]!;
    expect(c.cgroup!.memory!.limit).to.equal(V1_STATS.memory!.limit);
    expect(c.processes).to.deep.equal({ processes: 1, threads: 2, fds: 3 });
    // The pod counts its containers' processes and the infra's.
    expect(second.pods[0]!.processes).to.deep.equal({ processes: 2, threads: 4, fds: 6 });
  });

  it("reads the slow tier once per new cgroup, then refreshes it in the background", async () => {
    const h = harness({ cacheMs: 0 });
    await h.sampler.sample();
    expect(h.calls.slow.map((r) => r.path).sort()).to.deep.equal(
      [POD_PATH, `${POD_PATH}/${POD_ID}`, CTR_PATH].sort(),
    );
    h.clock.ms += 1000;
    await h.sampler.sample();
    expect(h.calls.slow).to.have.length(3);
    h.clock.ms += 10_000;
    await h.sampler.sample();
    await h.sampler.settled();
    expect(h.calls.slow).to.have.length(6);
  });

  it("reads nothing of stopped pods or exited containers, and skips host-network pods' netdev", async () => {
    const h = harness();
    h.setTargets([
      podTarget({ ready: false, netPid: undefined }),
      podTarget({
        id: "q".repeat(64),
        cgroupPath: "/berth/gone",
        netPid: undefined,
        containers: [containerTarget({ running: false })],
      }),
    ]);
    const s = await h.sampler.sample();
    expect(h.calls.net).to.equal(0);
    expect(h.calls.hot).to.equal(1); // the ready pod's cgroup only; it is gone
    expect(s.pods[0]!.cgroup).to.equal(undefined);
    expect(s.pods[1]!.cgroup).to.equal(undefined);
    expect(s.pods[1]!.containers[0]!.cgroup).to.equal(undefined);
  });

  it("adds the containers' OOM kills to the pod's (cgroup v1 counts them only in the container's)", () => {
    const pod = { memory: { ...V1_STATS.memory!, oomEvents: 1n } };
    const ctr = (n: bigint | undefined) => {
      const { oomEvents: _, ...memory } = V1_STATS.memory!;
      return { memory: n !== undefined ? { ...memory, oomEvents: n } : memory };
    };
    const out = withContainerOomKills(pod, [ctr(2n), undefined, ctr(undefined), ctr(3n)]);
    expect(out.memory?.oomEvents).to.equal(6n);
    expect(pod.memory.oomEvents).to.equal(1n);
    expect(withContainerOomKills(pod, [ctr(undefined)])).to.equal(pod);
    const summed = sumStats([ctr(2n), ctr(1n)])!;
    expect(withContainerOomKills(summed, [ctr(2n), ctr(1n)]).memory?.oomEvents).to.equal(3n);
  });

  it("sums the containers of a pod that has no cgroup of its own", async () => {
    const a = {
      cpu: { ...V1_STATS.cpu!, usageNs: 5n },
      memory: { ...V1_STATS.memory!, workingSet: 7n },
    };
    const b = {
      cpu: { ...V1_STATS.cpu!, usageNs: 6n },
      memory: { ...V1_STATS.memory!, workingSet: 8n },
    };
    const sum = sumStats([a, undefined, b])!;
    expect(sum.cpu!.usageNs).to.equal(11n);
    expect(sum.memory!.workingSet).to.equal(15n);
    expect(sum.spec).to.equal(undefined);
    expect(sumStats([undefined])).to.equal(undefined);
  });
});

describe("metrics: the slow tier cache", () => {
  it("drops cgroups no longer asked for and survives a failing reader", async () => {
    let now = 0;
    let reads = 0;
    const cache = new SlowStatsCache(
      async (req) => {
        reads++;
        if (req.path === "/bad") throw new Error("boom");
        return { processes: { processes: reads, threads: 0, fds: 0 } };
      },
      { nowMs: () => now, refreshMs: 100 },
    );
    const got = await cache.get([
      { path: "/a", stats: false, procs: true },
      { path: "/bad", stats: true, procs: false },
    ]);
    expect(got.get("/a")!.processes!.processes).to.equal(1);
    expect(got.get("/bad")).to.deep.include({ atMs: 0 });
    await cache.get([{ path: "/b", stats: false, procs: true }]);
    now = 50;
    const again = await cache.get([{ path: "/a", stats: false, procs: true }]);
    expect(again.get("/a")!.processes!.processes).to.equal(4); // re-read: it had been dropped
  });
});
