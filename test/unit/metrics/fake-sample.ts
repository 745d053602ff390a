// Fake samples in the shapes the cgroup readers produce on v1 (per-CPU usage, no PSI, swap via
// memsw) and v2 (PSI, swap.current), for the pure conversion tests.
import type { CgroupStats } from "../../../src/cgroup/index.js";
import type {
  ContainerTarget,
  NodeSample,
  PodSample,
  PodTarget,
} from "../../../src/metrics/stats-sample.js";

export const POD_ID = "p".repeat(64);
export const CTR_ID = "c".repeat(64);
export const AT_NS = 1_700_000_000_123_456_789n;

export const V1_STATS: CgroupStats = {
  cpu: {
    usageNs: 12_500_000_001n,
    userNs: 10_000_000_000n,
    systemNs: 2_500_000_001n,
    periods: 40n,
    throttledPeriods: 3n,
    throttledNs: 1_500_000_000n,
    perCpuNs: [6_000_000_000n, 6_500_000_001n],
  },
  memory: {
    usage: 104_857_600n,
    workingSet: 83_886_080n,
    rss: 73_400_320n,
    cache: 31_457_280n,
    mappedFile: 1_048_576n,
    pgfault: 1000n,
    pgmajfault: 7n,
    maxUsage: 110_000_000n,
    failcnt: 2n,
    limit: 268_435_456n,
    swapLimit: 536_870_912n,
    swap: 4096n,
    oomEvents: 1n,
  },
  spec: { cpuShares: 512, cpuQuota: 50_000, cpuPeriod: 100_000, memoryLimit: 268_435_456n },
  pids: { current: 3 },
  io: [{ major: 8, minor: 0, readBytes: 4096n, writeBytes: 8192n, reads: 1n, writes: 2n }],
};

export const V2_STATS: CgroupStats = {
  cpu: {
    usageNs: 3_000_000_000n,
    userNs: 2_000_000_000n,
    systemNs: 1_000_000_000n,
    periods: 0n,
    throttledPeriods: 0n,
    throttledNs: 0n,
  },
  memory: {
    usage: 10_485_760n,
    workingSet: 8_388_608n,
    rss: 6_291_456n,
    cache: 4_194_304n,
    mappedFile: 0n,
    pgfault: 50n,
    pgmajfault: 0n,
    swap: 1_048_576n,
    swapLimit: 4_194_304n,
    oomEvents: 0n,
  },
  spec: { cpuShares: 1024, cpuQuota: -1, cpuPeriod: 100_000 },
  psi: {
    cpu: { some: { totalUs: 1_500_000n }, full: { totalUs: 250n } },
    memory: { some: { totalUs: 0n }, full: { totalUs: 0n } },
    io: { some: { totalUs: 42n } },
  },
};

export function containerTarget(over: Partial<ContainerTarget> = {}): ContainerTarget {
  return {
    id: CTR_ID,
    podId: POD_ID,
    name: "app",
    attempt: 1,
    image: "registry.example/app:1",
    labels: { tier: "web" },
    annotations: { note: "x" },
    cgroupPath: `/berth/${POD_ID}/${CTR_ID}`,
    running: true,
    createdAtNs: 1_699_999_990_000_000_000n,
    startedAtNs: 1_699_999_995_500_000_000n,
    ...over,
  };
}

export function podTarget(over: Partial<PodTarget> = {}): PodTarget {
  return {
    id: POD_ID,
    name: "web-1",
    namespace: "shop",
    uid: "uid-1",
    attempt: 0,
    labels: { app: "web" },
    annotations: {},
    cgroupPath: `/berth/${POD_ID}`,
    infraCgroupPath: `/berth/${POD_ID}/${POD_ID}`,
    netPid: 1234,
    ready: true,
    createdAtNs: 1_699_999_980_000_000_000n,
    containers: [containerTarget()],
    ...over,
  };
}

/** One ready pod with one running container, both read with `stats`. */
export function fakeSample(stats: CgroupStats, pod: Partial<PodSample> = {}): NodeSample {
  const target = podTarget();
  return {
    atNs: AT_NS,
    pods: [
      {
        target,
        cgroup: stats,
        processes: { processes: 3, threads: 5, fds: 12 },
        network: [
          {
            name: "eth0",
            rxBytes: 1000n,
            rxPackets: 10n,
            rxErrors: 1n,
            rxDropped: 2n,
            txBytes: 2000n,
            txPackets: 20n,
            txErrors: 3n,
            txDropped: 4n,
          },
        ],
        nanoCores: 250_000_000n,
        containers: [
          {
            target: target.containers[0]!,
            cgroup: stats,
            processes: { processes: 2, threads: 4, fds: 9 },
            nanoCores: 200_000_000n,
            layer: { bytes: 5_242_880n, inodes: 12n, atNs: AT_NS - 1_000_000_000n },
          },
        ],
        ...pod,
      },
    ],
  };
}
