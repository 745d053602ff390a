// Plain data shapes shared by the cgroup v1 and v2 readers. Every counter that can pass 2^53
// (nanoseconds, bytes, page-fault counts) is a bigint; small settings (shares, quota in µs,
// pid counts) are numbers.
import type { TextFileReader } from "./worker-file-reader.js";

export type CgroupMode = "v1" | "v2" | "hybrid";

export interface CgroupSetup {
  mode: CgroupMode;
  /**
   * Controller name → the directory its hierarchy is mounted at. In v1 and hybrid mode these are
   * the v1 per-controller mounts (co-mounted controllers such as `cpu,cpuacct` share one
   * directory); in v2 mode every v2 controller maps to the unified mount.
   */
  controllers: Readonly<Record<string, string>>;
  /** The cgroup2 mount: the whole tree in v2 mode, the extra `unified` mount in hybrid mode. */
  unifiedMount?: string;
}

export interface CpuStats {
  usageNs: bigint;
  userNs: bigint;
  systemNs: bigint;
  /** CFS counters; 0 when the cpu controller's cpu.stat is missing (nothing can be throttled). */
  periods: bigint;
  throttledPeriods: bigint;
  throttledNs: bigint;
  /** Usage per CPU, index = CPU number (v1 cpuacct only; v2 has no per-CPU counters). */
  perCpuNs?: bigint[];
}

export interface MemoryStats {
  usage: bigint;
  /** usage − inactive file pages, never below 0: what kubelet evicts on. */
  workingSet: bigint;
  /** Anonymous memory (v1 total_rss, v2 anon). */
  rss: bigint;
  /** Page cache (v1 total_cache, v2 file). */
  cache: bigint;
  mappedFile: bigint;
  pgfault: bigint;
  pgmajfault: bigint;
  /** Bytes swapped out (v1 total_swap, only with swap accounting; v2 memory.swap.current). */
  swap?: bigint;
  /** Kernel memory (v1 memory.kmem.usage_in_bytes, v2 memory.stat `kernel`). */
  kernel?: bigint;
  /** Peak usage (v1 memory.max_usage_in_bytes, v2 memory.peak on kernels ≥ 5.19). */
  maxUsage?: bigint;
  /** Times the limit was hit (v1 memory.failcnt, v2 memory.events `max`). */
  failcnt?: bigint;
  /** Absent when unlimited. */
  limit?: bigint;
  /**
   * Absent when unlimited. Follows cAdvisor: v1 memory.memsw.limit_in_bytes (memory + swap),
   * v2 memory.swap.max (swap alone).
   */
  swapLimit?: bigint;
  /** OOM kills in this cgroup (v1 memory.oom_control `oom_kill` on kernels ≥ 4.13; v2 memory.events). */
  oomEvents?: bigint;
  /** v1 only: memory.oom_control `oom_kill_disable`. */
  oomKillDisable?: boolean;
}

export interface ResourceSpec {
  /** v1 cpu.shares, or v2 cpu.weight converted back to shares as cAdvisor does. */
  cpuShares?: number;
  /** CFS quota in µs per period; −1 when unlimited. */
  cpuQuota?: number;
  /** CFS period in µs. */
  cpuPeriod?: number;
  /** Absent when unlimited (or when the memory controller is missing). */
  memoryLimit?: bigint;
}

export interface PidsStats {
  current: number;
  /** Absent when `max`. */
  limit?: number;
}

export interface IoDeviceStats {
  major: number;
  minor: number;
  readBytes: bigint;
  writeBytes: bigint;
  reads: bigint;
  writes: bigint;
}

export interface PressureTotals {
  /** Total stall time in µs since the cgroup was created. */
  totalUs: bigint;
}

export interface PressureStats {
  some: PressureTotals;
  /** Missing from cpu.pressure on kernels before 5.13. */
  full?: PressureTotals;
}

export interface PsiStats {
  cpu?: PressureStats;
  memory?: PressureStats;
  io?: PressureStats;
}

/** One cgroup's reading. A section is absent when its controller or files are missing. */
export interface CgroupStats {
  cpu?: CpuStats;
  memory?: MemoryStats;
  spec?: ResourceSpec;
  pids?: PidsStats;
  io?: IoDeviceStats[];
  psi?: PsiStats;
}

export type StatsSection = keyof CgroupStats;

export const ALL_STATS_SECTIONS: readonly StatsSection[] = [
  "cpu",
  "memory",
  "spec",
  "pids",
  "io",
  "psi",
];

export interface ReadStatsOptions {
  /** Read only these sections (fewer file reads); default all. */
  sections?: readonly StatsSection[];
  /**
   * Called for read errors other than "not there" (ENOENT, ENODEV, ENOTDIR, ESRCH), e.g.
   * EACCES. The file's section is then treated as missing; the reader never throws.
   */
  onReadError?: (file: string, error: unknown) => void;
  /** Where file contents come from (default: libuv's async fs; see worker-file-reader.ts). */
  reader?: TextFileReader;
}
