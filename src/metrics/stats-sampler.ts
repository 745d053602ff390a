// One sampling pass over every pod and container berth runs, shared by /metrics and the CRI
// stats RPCs: a sample younger than `cacheMs` is reused, and callers arriving while a pass runs
// wait for that pass. Per cgroup a pass reads only the hot files (CPU, memory usage, OOM kills;
// hot-cgroup-read.ts); the rest comes from the slow tier, refreshed in the background.
import type { TextFileReader } from "../cgroup/worker-file-reader.js";
import type { Logger } from "../log.js";
import { errorMessage } from "../errors.js";
import { nowNs as wallClockNs } from "../util/time.js";
import {
  cgroupProcsDir,
  readCgroupStats,
  type CgroupSetup,
  type CgroupStats,
  type CpuStats,
  type MemoryStats,
} from "../cgroup/index.js";
import { readHotStats, type HotStats } from "./hot-cgroup-read.js";
import { containerReadable, reuseSample } from "./sample-reuse.js";
import type { HostVeth } from "../network/host-veth.js";
import { readHostVethStats, readNetDev, type NetInterfaceStats } from "./netdev.js";
import { readCgroupProcessCounts, type ProcessCounts } from "./procfs.js";
import { SlowStatsCache, type SlowReader, type SlowRequest } from "./slow-stats-cache.js";
import type {
  ContainerSample,
  LayerUsage,
  NodeSample,
  PodSample,
  PodTarget,
} from "./stats-sample.js";

export interface StatsSamplerDeps {
  setup: CgroupSetup;
  listTargets: () => PodTarget[];
  layers?: { get(id: string): LayerUsage | undefined };
  /** Reused for this long (default 1000 ms). */
  cacheMs?: number;
  /** Slow-tier refresh period (default 10 s). */
  slowRefreshMs?: number;
  log?: Logger;
  /** Where cgroup file contents come from (default: libuv's async fs). */
  fileReader?: TextFileReader;
  /** Injectable readers (tests). */
  readHot?: (cgroupPath: string) => Promise<HotStats | undefined>;
  readSlow?: SlowReader;
  readNet?: (pid: number) => Promise<NetInterfaceStats[] | undefined>;
  /** The host end of a pod's veth (default: /sys/class/net), mirrored to the pod's view. */
  readVeth?: (v: HostVeth) => Promise<NetInterfaceStats | undefined>;
  nowNs?: () => bigint;
  nowMs?: () => number;
}

/** The fields the slow tier adds to the hot memory reading. */
const SLOW_MEMORY_FIELDS = [
  "maxUsage",
  "failcnt",
  "limit",
  "swapLimit",
  "kernel",
  "oomKillDisable",
] as const;

/** A cgroup's reading from its hot part and (possibly older) slow part; undefined when gone. */
export function mergeStats(
  hot: HotStats | undefined,
  slow: CgroupStats | undefined,
): CgroupStats | undefined {
  if (hot === undefined) return undefined;
  const out: CgroupStats = {};
  if (hot.cpu !== undefined) out.cpu = hot.cpu;
  if (hot.memory !== undefined) {
    const memory: MemoryStats = { ...hot.memory };
    for (const f of SLOW_MEMORY_FIELDS) {
      const v = slow?.memory?.[f];
      if (v !== undefined && memory[f] === undefined) Object.assign(memory, { [f]: v });
    }
    out.memory = memory;
  }
  if (slow?.spec !== undefined) out.spec = slow.spec;
  if (slow?.pids !== undefined) out.pids = slow.pids;
  if (slow?.io !== undefined) out.io = slow.io;
  if (slow?.psi !== undefined) out.psi = slow.psi;
  return out;
}

const CPU_SUM_FIELDS = [
  "usageNs",
  "userNs",
  "systemNs",
  "periods",
  "throttledPeriods",
  "throttledNs",
] as const;
const MEMORY_SUM_FIELDS = [
  "usage",
  "workingSet",
  "rss",
  "cache",
  "mappedFile",
  "pgfault",
  "pgmajfault",
] as const;

/** A pod without a cgroup of its own: CPU and memory summed over its containers. */
export function sumStats(parts: readonly (CgroupStats | undefined)[]): CgroupStats | undefined {
  const present = parts.filter((p): p is CgroupStats => p !== undefined);
  if (present.length === 0) return undefined;
  const out: CgroupStats = {};
  const cpus = present.map((p) => p.cpu).filter((c): c is CpuStats => c !== undefined);
  if (cpus.length > 0) {
    const cpu: CpuStats = {
      usageNs: 0n,
      userNs: 0n,
      systemNs: 0n,
      periods: 0n,
      throttledPeriods: 0n,
      throttledNs: 0n,
    };
    for (const c of cpus) for (const f of CPU_SUM_FIELDS) cpu[f] += c[f];
    out.cpu = cpu;
  }
  const mems = present.map((p) => p.memory).filter((m): m is MemoryStats => m !== undefined);
  if (mems.length > 0) {
    const memory: MemoryStats = {
      usage: 0n,
      workingSet: 0n,
      rss: 0n,
      cache: 0n,
      mappedFile: 0n,
      pgfault: 0n,
      pgmajfault: 0n,
    };
    for (const m of mems) for (const f of MEMORY_SUM_FIELDS) memory[f] += m[f];
    out.memory = memory;
  }
  return out;
}

/**
 * The pod's stats with its containers' OOM kills added. cgroup v1 counts an OOM kill only in the
 * memory cgroup whose limit was hit (the container's), while cAdvisor's pod-level series and
 * cgroup v2's memory.events are hierarchical; so on v1 the pod's count is its own plus theirs.
 */
export function withContainerOomKills(
  pod: CgroupStats,
  containers: readonly (CgroupStats | undefined)[],
): CgroupStats {
  const counts = containers
    .map((c) => c?.memory?.oomEvents)
    .filter((n): n is bigint => n !== undefined);
  if (pod.memory === undefined || counts.length === 0) return pod;
  const total = counts.reduce((a, b) => a + b, pod.memory.oomEvents ?? 0n);
  return { ...pod, memory: { ...pod.memory, oomEvents: total } };
}

export function sumProcesses(parts: readonly (ProcessCounts | undefined)[]): ProcessCounts {
  const out = { processes: 0, threads: 0, fds: 0 };
  for (const p of parts) {
    if (p === undefined) continue;
    out.processes += p.processes;
    out.threads += p.threads;
    out.fds += p.fds;
  }
  return out;
}

/** The slow tier's real reader: limits, peaks, pids, I/O, PSI; and procfs counts. */
export function cgroupSlowReader(
  setup: CgroupSetup,
  log?: Logger,
  reader?: TextFileReader,
): SlowReader {
  const onReadError = (file: string, err: unknown): void =>
    log?.warn({ file, err: errorMessage(err) }, "cannot read cgroup file");
  return async (req: SlowRequest) => {
    const procsDir = req.procs ? cgroupProcsDir(setup, req.path) : undefined;
    const [stats, processes] = await Promise.all([
      req.stats
        ? readCgroupStats(setup, req.path, {
            sections: ["memory", "spec", "pids", "io", "psi"],
            onReadError,
            ...(reader ? { reader } : {}),
          })
        : undefined,
      procsDir === undefined
        ? undefined
        : readCgroupProcessCounts(procsDir).catch((err: unknown) => {
            log?.warn({ cgroup: req.path, err: errorMessage(err) }, "cannot count processes");
            return undefined;
          }),
    ]);
    return {
      ...(stats !== undefined ? { stats } : {}),
      ...(processes !== undefined ? { processes } : {}),
    };
  };
}

interface CpuPoint {
  usageNs: bigint;
  atNs: bigint;
}

export class StatsSampler {
  private last: { sample: NodeSample; atMs: number } | undefined;
  private inflight: Promise<NodeSample> | undefined;
  private readonly prevCpu = new Map<string, CpuPoint>();
  private readonly slow: SlowStatsCache;
  private readonly readHot: (cgroupPath: string) => Promise<HotStats | undefined>;
  private readonly readNet: (pid: number) => Promise<NetInterfaceStats[] | undefined>;
  private readonly readVeth: (v: HostVeth) => Promise<NetInterfaceStats | undefined>;
  private readonly nowNs: () => bigint;
  private readonly nowMs: () => number;
  private readonly cacheMs: number;

  constructor(private readonly deps: StatsSamplerDeps) {
    const onReadError = (file: string, err: unknown): void =>
      deps.log?.warn({ file, err: errorMessage(err) }, "cannot read cgroup file");
    this.readHot =
      deps.readHot ?? ((p) => readHotStats(deps.setup, p, onReadError, deps.fileReader));
    this.readNet = deps.readNet ?? ((pid) => readNetDev(pid, { excludeLoopback: true }));
    this.readVeth = deps.readVeth ?? ((v) => readHostVethStats(v));
    this.nowNs = deps.nowNs ?? wallClockNs;
    this.nowMs = deps.nowMs ?? Date.now;
    this.cacheMs = deps.cacheMs ?? 1000;
    this.slow = new SlowStatsCache(
      deps.readSlow ?? cgroupSlowReader(deps.setup, deps.log, deps.fileReader),
      {
        refreshMs: deps.slowRefreshMs ?? 10_000,
        nowMs: this.nowMs,
      },
    );
  }

  /**
   * A sample whose readings are at most `maxAgeMs` old (default: the cache period; 0 forces a
   * new pass) and whose pods and containers are the records' as of this call: the readings of a
   * pass are reused, its set of targets never is. A target readable now that the pass did not
   * read (a container just started) brings a new pass.
   */
  async sample(opts: { maxAgeMs?: number } = {}): Promise<NodeSample> {
    const maxAge = opts.maxAgeMs ?? this.cacheMs;
    const last = this.last;
    let base = last !== undefined && this.nowMs() - last.atMs < maxAge ? last.sample : undefined;
    base ??= await this.pass();
    const reused = reuseSample(base, this.deps.listTargets(), this.deps.layers);
    if (reused.unread === 0) return reused.sample;
    // A pass running now may have listed its targets before this caller's container existed.
    if (this.inflight !== undefined) await this.inflight.catch(() => undefined);
    const next = await this.pass();
    return reuseSample(next, this.deps.listTargets(), this.deps.layers).sample;
  }

  /** The pass in progress, or a new one; concurrent callers share it. */
  private pass(): Promise<NodeSample> {
    if (this.inflight === undefined) {
      this.inflight = this.takeSample()
        .then((sample) => {
          this.last = { sample, atMs: this.nowMs() };
          return sample;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  /** Waits for background slow-tier work; for tests and benchmarks. */
  async settled(): Promise<void> {
    await this.slow.settled();
  }

  private rate(id: string, cpu: CpuStats | undefined, atNs: bigint): bigint | undefined {
    if (cpu === undefined) return undefined;
    const prev = this.prevCpu.get(id);
    this.prevCpu.set(id, { usageNs: cpu.usageNs, atNs });
    if (prev === undefined || atNs <= prev.atNs || cpu.usageNs < prev.usageNs) return undefined;
    return ((cpu.usageNs - prev.usageNs) * 1_000_000_000n) / (atNs - prev.atNs);
  }

  private async takeSample(): Promise<NodeSample> {
    const targets = this.deps.listTargets();
    const atNs = this.nowNs();
    const hotPaths = new Set<string>();
    const slowRequests: SlowRequest[] = [];
    for (const pod of targets) {
      if (!pod.ready) continue;
      if (pod.cgroupPath !== undefined) {
        hotPaths.add(pod.cgroupPath);
        slowRequests.push({ path: pod.cgroupPath, stats: true, procs: false });
      }
      if (pod.infraCgroupPath !== undefined)
        slowRequests.push({ path: pod.infraCgroupPath, stats: false, procs: true });
      for (const c of pod.containers) {
        if (!c.running || c.cgroupPath === undefined) continue;
        hotPaths.add(c.cgroupPath);
        slowRequests.push({ path: c.cgroupPath, stats: true, procs: true });
      }
    }
    const paths = [...hotPaths];
    const netPods = targets.filter((p) => p.netPid !== undefined || p.netVeth !== undefined);
    const readPodNet = (p: PodTarget): Promise<NetInterfaceStats[] | undefined> =>
      p.netPid !== undefined
        ? this.readNet(p.netPid)
        : this.readVeth(p.netVeth!).then((s) => (s === undefined ? undefined : [s]));
    const [hotList, slow, netList] = await Promise.all([
      Promise.all(paths.map((p) => this.readHot(p))),
      this.slow.get(slowRequests),
      Promise.all(netPods.map((p) => readPodNet(p).catch(() => undefined))),
    ]);
    const hot = new Map(paths.map((p, i) => [p, hotList[i]]));
    const net = new Map(netPods.map((p, i) => [p.id, netList[i]]));

    const live = new Set<string>();
    const pods = targets.map((pod): PodSample => {
      const containers = pod.containers.map((target): ContainerSample => {
        const out: ContainerSample = { target };
        const layer = this.deps.layers?.get(target.id);
        if (layer !== undefined) out.layer = layer;
        if (!containerReadable(pod, target) || target.cgroupPath === undefined) return out;
        const entry = slow.get(target.cgroupPath);
        const cgroup = mergeStats(hot.get(target.cgroupPath), entry?.stats);
        if (cgroup === undefined) return out;
        out.cgroup = cgroup;
        if (entry?.processes !== undefined) out.processes = entry.processes;
        live.add(target.id);
        const nanoCores = this.rate(target.id, cgroup.cpu, atNs);
        if (nanoCores !== undefined) out.nanoCores = nanoCores;
        return out;
      });
      const sample: PodSample = { target: pod, containers };
      if (!pod.ready) return sample;
      const own =
        pod.cgroupPath === undefined
          ? sumStats(containers.map((c) => c.cgroup))
          : mergeStats(hot.get(pod.cgroupPath), slow.get(pod.cgroupPath)?.stats);
      const cgroup =
        own !== undefined && (pod.cgroupPath === undefined || this.deps.setup.mode !== "v2")
          ? withContainerOomKills(
              own,
              containers.map((c) => c.cgroup),
            )
          : own;
      if (cgroup !== undefined) {
        sample.cgroup = cgroup;
        live.add(pod.id);
        const nanoCores = this.rate(pod.id, cgroup.cpu, atNs);
        if (nanoCores !== undefined) sample.nanoCores = nanoCores;
      }
      const infra =
        pod.infraCgroupPath === undefined ? undefined : slow.get(pod.infraCgroupPath)?.processes;
      sample.processes = sumProcesses([infra, ...containers.map((c) => c.processes)]);
      const interfaces = net.get(pod.id);
      if (interfaces !== undefined) sample.network = interfaces;
      return sample;
    });
    for (const id of this.prevCpu.keys()) if (!live.has(id)) this.prevCpu.delete(id);
    return { atNs, pods };
  }
}
