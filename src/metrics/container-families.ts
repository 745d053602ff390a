// The per-container metric families, with cAdvisor's names, help, types, units and extra labels
// (kubelet's /metrics/cadvisor is what dashboards expect). One table drives both the Prometheus
// text (container-collector.ts) and the CRI metrics of KEP-2371 (cri-metrics.ts). Values are
// exact decimals n/scale, so nanosecond counters become seconds without rounding.
import type { CgroupStats } from "../cgroup/index.js";
import type { NetInterfaceStats } from "./netdev.js";
import type { ProcessCounts } from "./procfs.js";
import type { LayerUsage } from "./stats-sample.js";

export type MetricKind = "counter" | "gauge";

/** The value n / scale, scale a power of ten. */
export interface Quantity {
  n: bigint;
  scale: bigint;
}

export interface SeriesValue {
  /** Values of the family's extra labels, in order. */
  labels: string[];
  value: Quantity;
}

/** What one series owner (a pod's cgroup or a container's) offers the families. */
export interface SeriesInput {
  level: "pod" | "container";
  stats?: CgroupStats;
  processes?: ProcessCounts;
  network?: NetInterfaceStats[];
  layer?: LayerUsage;
  /** Container start (or pod creation) time, ns since the epoch. */
  startNs: bigint;
  /** When the sample was taken, ns since the epoch. */
  seenNs: bigint;
  /** The device label of the writable layer's file system. */
  fsDevice: string;
  /** "/dev/sda" for 8:0; resolved before the families run. */
  blockDevice: (major: number, minor: number) => string;
}

export interface Family {
  name: string;
  help: string;
  kind: MetricKind;
  extraLabels: readonly string[];
  values(s: SeriesInput): SeriesValue[];
}

/** The labels every series carries, as kubelet's cAdvisor endpoint sets them. */
export const BASE_LABELS = ["container", "id", "image", "name", "namespace", "pod"] as const;

const NS = 1_000_000_000n;
const US = 1_000_000n;

const count = (n: bigint | number): Quantity => ({ n: BigInt(n), scale: 1n });
const nsSeconds = (n: bigint): Quantity => ({ n, scale: NS });
const usSeconds = (n: bigint): Quantity => ({ n, scale: US });
const one = (value: Quantity | undefined): SeriesValue[] =>
  value === undefined ? [] : [{ labels: [], value }];

function hasQuota(s: SeriesInput): boolean {
  return (s.stats?.spec?.cpuQuota ?? 0) > 0;
}

function memoryLimit(stats: CgroupStats | undefined): Quantity | undefined {
  if (stats?.memory === undefined && stats?.spec === undefined) return undefined;
  return count(stats.spec?.memoryLimit ?? stats.memory?.limit ?? 0n);
}

function family(
  name: string,
  kind: MetricKind,
  help: string,
  values: (s: SeriesInput) => SeriesValue[],
  extraLabels: readonly string[] = [],
): Family {
  return { name, kind, help, values, extraLabels };
}

function networkFamily(name: string, help: string, pick: (i: NetInterfaceStats) => bigint): Family {
  return family(
    name,
    "counter",
    help,
    (s) => (s.network ?? []).map((i) => ({ labels: [i.name], value: count(pick(i)) })),
    ["interface"],
  );
}

type PsiResource = "cpu" | "memory" | "io";

function pressureFamily(resource: PsiResource, kind: "some" | "full", help: string): Family {
  const what = kind === "some" ? "waiting" : "stalled";
  return family(`container_pressure_${resource}_${what}_seconds_total`, "counter", help, (s) => {
    const totals = s.stats?.psi?.[resource]?.[kind];
    return one(totals === undefined ? undefined : usSeconds(totals.totalUs));
  });
}

export const CONTAINER_FAMILIES: readonly Family[] = [
  family(
    "container_cpu_usage_seconds_total",
    "counter",
    "Cumulative cpu time consumed in seconds.",
    (s) =>
      s.stats?.cpu === undefined
        ? []
        : [{ labels: ["total"], value: nsSeconds(s.stats.cpu.usageNs) }],
    ["cpu"],
  ),
  family(
    "container_cpu_user_seconds_total",
    "counter",
    "Cumulative user cpu time consumed in seconds.",
    (s) => one(s.stats?.cpu && nsSeconds(s.stats.cpu.userNs)),
  ),
  family(
    "container_cpu_system_seconds_total",
    "counter",
    "Cumulative system cpu time consumed in seconds.",
    (s) => one(s.stats?.cpu && nsSeconds(s.stats.cpu.systemNs)),
  ),
  family(
    "container_cpu_cfs_periods_total",
    "counter",
    "Number of elapsed enforcement period intervals.",
    (s) => one(hasQuota(s) && s.stats?.cpu ? count(s.stats.cpu.periods) : undefined),
  ),
  family(
    "container_cpu_cfs_throttled_periods_total",
    "counter",
    "Number of throttled period intervals.",
    (s) => one(hasQuota(s) && s.stats?.cpu ? count(s.stats.cpu.throttledPeriods) : undefined),
  ),
  family(
    "container_cpu_cfs_throttled_seconds_total",
    "counter",
    "Total time duration the container has been throttled.",
    (s) => one(hasQuota(s) && s.stats?.cpu ? nsSeconds(s.stats.cpu.throttledNs) : undefined),
  ),

  family(
    "container_memory_usage_bytes",
    "gauge",
    "Current memory usage in bytes, including all memory regardless of when it was accessed",
    (s) => one(s.stats?.memory && count(s.stats.memory.usage)),
  ),
  family("container_memory_working_set_bytes", "gauge", "Current working set in bytes.", (s) =>
    one(s.stats?.memory && count(s.stats.memory.workingSet)),
  ),
  family("container_memory_rss", "gauge", "Size of RSS in bytes.", (s) =>
    one(s.stats?.memory && count(s.stats.memory.rss)),
  ),
  family("container_memory_cache", "gauge", "Number of bytes of page cache memory.", (s) =>
    one(s.stats?.memory && count(s.stats.memory.cache)),
  ),
  family("container_memory_mapped_file", "gauge", "Size of memory mapped files in bytes.", (s) =>
    one(s.stats?.memory && count(s.stats.memory.mappedFile)),
  ),
  family("container_memory_swap", "gauge", "Container swap usage in bytes.", (s) =>
    one(s.stats?.memory?.swap === undefined ? undefined : count(s.stats.memory.swap)),
  ),
  family(
    "container_memory_max_usage_bytes",
    "gauge",
    "Maximum memory usage recorded in bytes",
    (s) =>
      one(s.stats?.memory?.maxUsage === undefined ? undefined : count(s.stats.memory.maxUsage)),
  ),
  family("container_memory_failcnt", "counter", "Number of memory usage hits limits", (s) =>
    one(s.stats?.memory?.failcnt === undefined ? undefined : count(s.stats.memory.failcnt)),
  ),
  family(
    "container_memory_failures_total",
    "counter",
    "Cumulative count of memory allocation failures.",
    (s) => {
      const m = s.stats?.memory;
      if (m === undefined) return [];
      // berth reads the hierarchical counters only; a cgroup's own and its subtree's coincide
      // for containers (they have no child cgroups).
      return ["container", "hierarchy"].flatMap((scope) => [
        { labels: ["pgfault", scope], value: count(m.pgfault) },
        { labels: ["pgmajfault", scope], value: count(m.pgmajfault) },
      ]);
    },
    ["failure_type", "scope"],
  ),
  family(
    "container_oom_events_total",
    "counter",
    "Count of out of memory events observed for the container",
    (s) =>
      one(s.stats?.memory?.oomEvents === undefined ? undefined : count(s.stats.memory.oomEvents)),
  ),

  family(
    "container_spec_memory_limit_bytes",
    "gauge",
    "Memory limit for the container.",
    // cAdvisor reports an unlimited container as 0.
    (s) => one(memoryLimit(s.stats)),
  ),
  family("container_spec_cpu_quota", "gauge", "CPU quota of the container.", (s) =>
    one(hasQuota(s) ? count(s.stats?.spec?.cpuQuota ?? 0) : undefined),
  ),
  family("container_spec_cpu_period", "gauge", "CPU period of the container.", (s) =>
    one(s.stats?.spec?.cpuPeriod === undefined ? undefined : count(s.stats.spec.cpuPeriod)),
  ),
  family("container_spec_cpu_shares", "gauge", "CPU share of the container.", (s) =>
    one(s.stats?.spec?.cpuShares === undefined ? undefined : count(s.stats.spec.cpuShares)),
  ),

  family(
    "container_fs_reads_bytes_total",
    "counter",
    "Cumulative count of bytes read",
    (s) =>
      (s.stats?.io ?? []).map((d) => ({
        labels: [s.blockDevice(d.major, d.minor)],
        value: count(d.readBytes),
      })),
    ["device"],
  ),
  family(
    "container_fs_writes_bytes_total",
    "counter",
    "Cumulative count of bytes written",
    (s) =>
      (s.stats?.io ?? []).map((d) => ({
        labels: [s.blockDevice(d.major, d.minor)],
        value: count(d.writeBytes),
      })),
    ["device"],
  ),
  family(
    "container_fs_usage_bytes",
    "gauge",
    "Number of bytes that are consumed by the container on this filesystem.",
    (s) => (s.layer === undefined ? [] : [{ labels: [s.fsDevice], value: count(s.layer.bytes) }]),
    ["device"],
  ),

  networkFamily(
    "container_network_receive_bytes_total",
    "Cumulative count of bytes received",
    (i) => i.rxBytes,
  ),
  networkFamily(
    "container_network_receive_packets_total",
    "Cumulative count of packets received",
    (i) => i.rxPackets,
  ),
  networkFamily(
    "container_network_receive_errors_total",
    "Cumulative count of errors encountered while receiving",
    (i) => i.rxErrors,
  ),
  networkFamily(
    "container_network_receive_packets_dropped_total",
    "Cumulative count of packets dropped while receiving",
    (i) => i.rxDropped,
  ),
  networkFamily(
    "container_network_transmit_bytes_total",
    "Cumulative count of bytes transmitted",
    (i) => i.txBytes,
  ),
  networkFamily(
    "container_network_transmit_packets_total",
    "Cumulative count of packets transmitted",
    (i) => i.txPackets,
  ),
  networkFamily(
    "container_network_transmit_errors_total",
    "Cumulative count of errors encountered while transmitting",
    (i) => i.txErrors,
  ),
  networkFamily(
    "container_network_transmit_packets_dropped_total",
    "Cumulative count of packets dropped while transmitting",
    (i) => i.txDropped,
  ),

  family("container_processes", "gauge", "Number of processes running inside the container.", (s) =>
    one(s.processes && count(s.processes.processes)),
  ),
  family("container_threads", "gauge", "Number of threads running inside the container", (s) =>
    one(s.processes && count(s.processes.threads)),
  ),
  family(
    "container_file_descriptors",
    "gauge",
    "Number of open file descriptors for the container.",
    (s) => one(s.processes && count(s.processes.fds)),
  ),

  family(
    "container_start_time_seconds",
    "gauge",
    "Start time of the container since unix epoch in seconds.",
    (s) => one(count(s.startNs / NS)),
  ),
  family("container_last_seen", "gauge", "Last time a container was seen by the exporter", (s) =>
    one(count(s.seenNs / NS)),
  ),

  pressureFamily(
    "cpu",
    "some",
    "Total time duration tasks in the container have waited due to CPU congestion.",
  ),
  pressureFamily(
    "cpu",
    "full",
    "Total time duration no tasks in the container could make progress due to CPU congestion.",
  ),
  pressureFamily(
    "memory",
    "some",
    "Total time duration tasks in the container have waited due to memory congestion.",
  ),
  pressureFamily(
    "memory",
    "full",
    "Total time duration no tasks in the container could make progress due to memory congestion.",
  ),
  pressureFamily(
    "io",
    "some",
    "Total time duration tasks in the container have waited due to IO congestion.",
  ),
  pressureFamily(
    "io",
    "full",
    "Total time duration no tasks in the container could make progress due to IO congestion.",
  ),
];
