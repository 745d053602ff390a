// ContainerStats, ListContainerStats, StreamContainerStats, PodSandboxStats, ListPodSandboxStats,
// StreamPodSandboxStats, ListMetricDescriptors, ListPodSandboxMetrics, StreamPodSandboxMetrics.
// Every answer is a view of one shared sample (src/metrics/stats-sampler.ts), shaped as
// kubelet's CRI stats provider reads it: cumulative CPU ns plus a nanocore rate over the sample
// window, working set / available (limit − working set), writable layer on the image fs.
import type { ContainerStats } from "../gen/runtime/v1/ContainerStats.js";
import type { ContainerStatsFilter__Output } from "../gen/runtime/v1/ContainerStatsFilter.js";
import type { NetworkInterfaceUsage } from "../gen/runtime/v1/NetworkInterfaceUsage.js";
import type { PodSandboxStats } from "../gen/runtime/v1/PodSandboxStats.js";
import type { PodSandboxStatsFilter__Output } from "../gen/runtime/v1/PodSandboxStatsFilter.js";
import type { PsiStats } from "../gen/runtime/v1/PsiStats.js";
import type { CgroupStats, PressureStats } from "../cgroup/index.js";
import type { OwnerEnv } from "../metrics/container-collector.js";
import { metricDescriptors, podSandboxMetrics } from "../metrics/cri-metrics.js";
import type { NetInterfaceStats } from "../metrics/netdev.js";
import type { ContainerSample, NodeSample, PodSample } from "../metrics/stats-sample.js";
import { containerTarget } from "../metrics/stats-targets.js";
import type { RuntimeContext } from "../runtime/runtime-context.js";
import type { CriHandlers } from "./handlers.js";
import { chunks } from "./runtime-views.js";

export interface StatsViewOptions {
  /** fs_id of writable layers: the directory ImageFsInfo reports (they share that fs). */
  fsMountpoint: string;
  /**
   * cgroup v1's swap limit is memory.memsw (memory + swap), not swap alone; swap_available
   * is then left out rather than misreported.
   */
  swapLimitIsSwapOnly: boolean;
}

const u64 = (v: bigint | number): { value: string } => ({ value: v.toString() });

function psiView(p: PressureStats | undefined): PsiStats | null {
  if (p === undefined) return null;
  const data = (totalUs: bigint) => ({
    Total: (totalUs * 1000n).toString(),
    Avg10: 0,
    Avg60: 0,
    Avg300: 0,
  });
  return { Some: data(p.some.totalUs), Full: p.full ? data(p.full.totalUs) : null };
}

function cpuView(stats: CgroupStats, nanoCores: bigint | undefined, ts: string) {
  if (stats.cpu === undefined) return null;
  return {
    timestamp: ts,
    usage_core_nano_seconds: u64(stats.cpu.usageNs),
    usage_nano_cores: nanoCores === undefined ? null : u64(nanoCores),
    psi: psiView(stats.psi?.cpu),
  };
}

function memoryView(stats: CgroupStats, ts: string) {
  const m = stats.memory;
  if (m === undefined) return null;
  const limit = stats.spec?.memoryLimit ?? m.limit;
  return {
    timestamp: ts,
    working_set_bytes: u64(m.workingSet),
    available_bytes:
      limit === undefined ? null : u64(limit > m.workingSet ? limit - m.workingSet : 0n),
    usage_bytes: u64(m.usage),
    rss_bytes: u64(m.rss),
    page_faults: u64(m.pgfault),
    major_page_faults: u64(m.pgmajfault),
    psi: psiView(stats.psi?.memory),
  };
}

function swapView(stats: CgroupStats, ts: string, opts: StatsViewOptions) {
  const m = stats.memory;
  if (m?.swap === undefined) return null;
  const limit = opts.swapLimitIsSwapOnly ? m.swapLimit : undefined;
  return {
    timestamp: ts,
    swap_usage_bytes: u64(m.swap),
    swap_available_bytes: limit === undefined ? null : u64(limit > m.swap ? limit - m.swap : 0n),
  };
}

function ioView(stats: CgroupStats, ts: string) {
  return stats.psi?.io === undefined ? null : { timestamp: ts, psi: psiView(stats.psi.io) };
}

export function containerStatsView(
  c: ContainerSample,
  atNs: bigint,
  opts: StatsViewOptions,
): ContainerStats {
  const t = c.target;
  const ts = atNs.toString();
  const out: ContainerStats = {
    attributes: {
      id: t.id,
      metadata: { name: t.name, attempt: t.attempt },
      labels: t.labels,
      annotations: t.annotations,
    },
  };
  if (c.cgroup !== undefined) {
    out.cpu = cpuView(c.cgroup, c.nanoCores, ts);
    out.memory = memoryView(c.cgroup, ts);
    out.swap = swapView(c.cgroup, ts, opts);
    out.io = ioView(c.cgroup, ts);
  }
  if (c.layer !== undefined) {
    out.writable_layer = {
      timestamp: c.layer.atNs.toString(),
      fs_id: { mountpoint: opts.fsMountpoint },
      used_bytes: u64(c.layer.bytes),
      inodes_used: u64(c.layer.inodes),
    };
  }
  return out;
}

function interfaceView(i: NetInterfaceStats): NetworkInterfaceUsage {
  return {
    name: i.name,
    rx_bytes: u64(i.rxBytes),
    rx_errors: u64(i.rxErrors),
    tx_bytes: u64(i.txBytes),
    tx_errors: u64(i.txErrors),
  };
}

export function podSandboxStatsView(
  p: PodSample,
  atNs: bigint,
  opts: StatsViewOptions,
): PodSandboxStats {
  const t = p.target;
  const ts = atNs.toString();
  const linux: NonNullable<PodSandboxStats["linux"]> = {
    containers: p.containers
      .filter((c) => c.cgroup !== undefined)
      .map((c) => containerStatsView(c, atNs, opts)),
  };
  if (p.cgroup !== undefined) {
    linux.cpu = cpuView(p.cgroup, p.nanoCores, ts);
    linux.memory = memoryView(p.cgroup, ts);
    linux.io = ioView(p.cgroup, ts);
  }
  if (p.network !== undefined) {
    const eth0 = p.network.find((i) => i.name === "eth0");
    linux.network = {
      timestamp: ts,
      default_interface: eth0 === undefined ? null : interfaceView(eth0),
      interfaces: p.network.map(interfaceView),
    };
  }
  if (p.processes !== undefined) {
    linux.process = { timestamp: ts, process_count: u64(p.processes.processes) };
  }
  return {
    attributes: {
      id: t.id,
      metadata: { name: t.name, uid: t.uid, namespace: t.namespace, attempt: t.attempt },
      labels: t.labels,
      annotations: t.annotations,
    },
    linux,
  };
}

function labelsMatch(labels: Record<string, string>, selector: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

export function containerStatsMatch(
  c: ContainerSample,
  f: ContainerStatsFilter__Output | null,
): boolean {
  if (f === null) return true;
  if (f.id !== "" && !c.target.id.startsWith(f.id)) return false;
  if (f.pod_sandbox_id !== "" && !c.target.podId.startsWith(f.pod_sandbox_id)) return false;
  return labelsMatch(c.target.labels, f.label_selector);
}

export function podStatsMatch(p: PodSample, f: PodSandboxStatsFilter__Output | null): boolean {
  if (f === null) return true;
  if (f.id !== "" && !p.target.id.startsWith(f.id)) return false;
  return labelsMatch(p.target.labels, f.label_selector);
}

export interface StatsDeps {
  ctx: RuntimeContext;
  sample: () => Promise<NodeSample>;
  ownerEnv: (sample: NodeSample) => Promise<OwnerEnv>;
  view: StatsViewOptions;
}

export function statsHandlers(deps: StatsDeps): CriHandlers {
  const { ctx, view } = deps;
  const listContainers = async (filter: ContainerStatsFilter__Output | null) => {
    const sample = await deps.sample();
    return sample.pods.flatMap((p) =>
      p.containers
        .filter((c) => containerStatsMatch(c, filter))
        .map((c) => containerStatsView(c, sample.atNs, view)),
    );
  };
  const listPods = async (filter: PodSandboxStatsFilter__Output | null) => {
    const sample = await deps.sample();
    return sample.pods
      .filter((p) => podStatsMatch(p, filter))
      .map((p) => podSandboxStatsView(p, sample.atNs, view));
  };
  const podMetrics = async () => {
    const sample = await deps.sample();
    return podSandboxMetrics(sample, await deps.ownerEnv(sample));
  };

  return {
    ContainerStats: async (req) => {
      const rec = ctx.containers.resolve(req.container_id);
      const sample = await deps.sample();
      const found = sample.pods.flatMap((p) => p.containers).find((c) => c.target.id === rec.id);
      // Created after the sample was taken: its attributes, no readings yet.
      const c = found ?? { target: containerTarget(rec, ctx.config.cgroup_driver) };
      return { stats: containerStatsView(c, sample.atNs, view) };
    },

    ListContainerStats: async (req) => ({ stats: await listContainers(req.filter) }),

    StreamContainerStats: async function* (req) {
      for (const part of chunks(await listContainers(req.filter))) yield { container_stats: part };
    },

    PodSandboxStats: async (req) => {
      const rec = ctx.sandboxes.resolve(req.pod_sandbox_id);
      const sample = await deps.sample();
      const found = sample.pods.find((p) => p.target.id === rec.id);
      if (found !== undefined) return { stats: podSandboxStatsView(found, sample.atNs, view) };
      const m = rec.config.metadata;
      return {
        stats: {
          attributes: {
            id: rec.id,
            metadata: m,
            labels: rec.config.labels,
            annotations: rec.config.annotations,
          },
          linux: { containers: [] },
        },
      };
    },

    ListPodSandboxStats: async (req) => ({ stats: await listPods(req.filter) }),

    StreamPodSandboxStats: async function* (req) {
      for (const part of chunks(await listPods(req.filter))) yield { pod_sandbox_stats: part };
    },

    ListMetricDescriptors: async () => ({ descriptors: metricDescriptors() }),

    ListPodSandboxMetrics: async () => ({ pod_metrics: await podMetrics() }),

    StreamPodSandboxMetrics: async function* () {
      for (const part of chunks(await podMetrics(), 100)) yield { pod_sandbox_metrics: part };
    },
  };
}
