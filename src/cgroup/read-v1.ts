// Reads one cgroup on a v1 (or hybrid) host: each controller in its own hierarchy, every
// file of the reading started at once. Hybrid hosts add PSI from the cgroup2 mount when the
// cgroup exists there too.
import { CgroupFileReads } from "./cgroup-files.js";
import { cgroupDir, unifiedCgroupDir } from "./detect-setup.js";
import { NS_PER_USER_HZ_TICK, parseCpuacctUsageAll } from "./parse-cpu.js";
import { blkioHasDevices, parseBlkioV1 } from "./parse-io.js";
import {
  maxBigint,
  parseFlatKeyed,
  parseSmallInt,
  parseUnsigned,
  parseUnsignedList,
  parseV1Limit,
} from "./parse-values.js";
import { readPids, readPsi, withDefined, type SectionWanted } from "./read-common.js";
import type {
  CgroupSetup,
  CgroupStats,
  CpuStats,
  IoDeviceStats,
  MemoryStats,
  ResourceSpec,
} from "./types.js";

type Dir = string | undefined;

async function readCpuV1(
  reads: CgroupFileReads,
  cpuDir: Dir,
  acctDir: Dir,
): Promise<CpuStats | undefined> {
  const [usageAllText, cpuStatText] = await Promise.all([
    reads.read(acctDir, "cpuacct.usage_all"),
    reads.read(cpuDir, "cpu.stat"),
  ]);
  const cfs = parseFlatKeyed(cpuStatText);
  const throttling = {
    periods: cfs.get("nr_periods") ?? 0n,
    throttledPeriods: cfs.get("nr_throttled") ?? 0n,
    throttledNs: cfs.get("throttled_time") ?? 0n,
  };
  const perCpu = parseCpuacctUsageAll(usageAllText);
  if (perCpu !== undefined) {
    let userNs = 0n;
    let systemNs = 0n;
    for (const c of perCpu) {
      userNs += c.userNs;
      systemNs += c.systemNs;
    }
    const perCpuNs = perCpu.map((c) => c.userNs + c.systemNs);
    return { usageNs: userNs + systemNs, userNs, systemNs, ...throttling, perCpuNs };
  }
  // Kernels before 4.7: total and per-CPU in ns, the user/system split only in USER_HZ ticks.
  const [usageText, perCpuText, statText] = await Promise.all([
    reads.read(acctDir, "cpuacct.usage"),
    reads.read(acctDir, "cpuacct.usage_percpu"),
    reads.read(acctDir, "cpuacct.stat"),
  ]);
  const usageNs = parseUnsigned(usageText);
  if (usageNs === undefined) return undefined;
  const ticks = parseFlatKeyed(statText);
  const cpu: CpuStats = {
    usageNs,
    userNs: (ticks.get("user") ?? 0n) * NS_PER_USER_HZ_TICK,
    systemNs: (ticks.get("system") ?? 0n) * NS_PER_USER_HZ_TICK,
    ...throttling,
  };
  const perCpuNs = parseUnsignedList(perCpuText);
  if (perCpuNs !== undefined) cpu.perCpuNs = perCpuNs;
  return cpu;
}

/**
 * The figures every v1 memory reading shares, from memory.usage_in_bytes and memory.stat. The
 * total_* keys include descendants, which is what a container's (or pod's) usage means.
 */
export function memoryFromV1Stat(
  usage: bigint,
  statText: string | undefined,
): { memory: MemoryStats; pick: (key: string) => bigint | undefined } {
  const stat = parseFlatKeyed(statText);
  const pick = (key: string): bigint | undefined => stat.get(`total_${key}`) ?? stat.get(key);
  const memory: MemoryStats = {
    usage,
    workingSet: maxBigint(0n, usage - (pick("inactive_file") ?? 0n)),
    rss: pick("rss") ?? 0n,
    cache: pick("cache") ?? 0n,
    mappedFile: pick("mapped_file") ?? 0n,
    pgfault: pick("pgfault") ?? 0n,
    pgmajfault: pick("pgmajfault") ?? 0n,
  };
  return { memory, pick };
}

async function readMemoryV1(
  reads: CgroupFileReads,
  dir: Dir,
  limitText: Promise<string | undefined>,
): Promise<MemoryStats | undefined> {
  const [usageText, statText, maxUsageText, failcntText, swapLimitText, oomText, kmemText, limit] =
    await Promise.all([
      reads.read(dir, "memory.usage_in_bytes"),
      reads.read(dir, "memory.stat"),
      reads.read(dir, "memory.max_usage_in_bytes"),
      reads.read(dir, "memory.failcnt"),
      reads.read(dir, "memory.memsw.limit_in_bytes"),
      reads.read(dir, "memory.oom_control"),
      reads.read(dir, "memory.kmem.usage_in_bytes"),
      limitText,
    ]);
  const usage = parseUnsigned(usageText);
  if (usage === undefined) return undefined;
  const { memory, pick } = memoryFromV1Stat(usage, statText);
  const optional: Partial<MemoryStats> = {
    swap: pick("swap"),
    kernel: parseUnsigned(kmemText),
    maxUsage: parseUnsigned(maxUsageText),
    failcnt: parseUnsigned(failcntText),
    limit: parseV1Limit(limit),
    swapLimit: parseV1Limit(swapLimitText),
  };
  if (oomText !== undefined) {
    const oom = parseFlatKeyed(oomText);
    optional.oomEvents = oom.get("oom_kill");
    const disabled = oom.get("oom_kill_disable");
    if (disabled !== undefined) optional.oomKillDisable = disabled === 1n;
  }
  return withDefined(memory, optional);
}

async function readSpecV1(
  reads: CgroupFileReads,
  cpuDir: Dir,
  limitText: Promise<string | undefined>,
): Promise<ResourceSpec | undefined> {
  const [sharesText, quotaText, periodText, limit] = await Promise.all([
    reads.read(cpuDir, "cpu.shares"),
    reads.read(cpuDir, "cpu.cfs_quota_us"),
    reads.read(cpuDir, "cpu.cfs_period_us"),
    limitText,
  ]);
  const spec = withDefined<ResourceSpec>(
    {},
    {
      cpuShares: parseSmallInt(sharesText),
      cpuQuota: parseSmallInt(quotaText),
      cpuPeriod: parseSmallInt(periodText),
      memoryLimit: parseV1Limit(limit),
    },
  );
  const anyRead = [sharesText, quotaText, periodText, limit].some((t) => t !== undefined);
  return anyRead ? spec : undefined;
}

/**
 * Block I/O. The throttle layer's counters come first: they see every bio, but recent kernels
 * only count them for cgroups with a throttle rule on the device. When they list no device,
 * the scheduler's counters are tried: CFQ's (kernels before 5.0), then BFQ's. With no device
 * anywhere the section is an empty list, or absent when the blkio controller is not there.
 */
async function readIoV1(reads: CgroupFileReads, dir: Dir): Promise<IoDeviceStats[] | undefined> {
  const [throttleBytes, throttleOps] = await Promise.all([
    reads.read(dir, "blkio.throttle.io_service_bytes_recursive"),
    reads.read(dir, "blkio.throttle.io_serviced_recursive"),
  ]);
  if (blkioHasDevices(throttleBytes)) return parseBlkioV1(throttleBytes, throttleOps);
  const schedulers = [
    ["blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"],
    ["blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"],
  ] as const;
  // Only the bytes files at first: on most hosts neither scheduler family has anything.
  const bytesTexts = await Promise.all(schedulers.map(([bytesFile]) => reads.read(dir, bytesFile)));
  for (const [i, [, opsFile]] of schedulers.entries()) {
    const bytes = bytesTexts[i];
    if (blkioHasDevices(bytes)) return parseBlkioV1(bytes, await reads.read(dir, opsFile));
  }
  return throttleBytes !== undefined || bytesTexts.some((t) => t !== undefined) ? [] : undefined;
}

export async function readV1Stats(
  setup: CgroupSetup,
  cgroupPath: string,
  want: SectionWanted,
  reads: CgroupFileReads,
): Promise<CgroupStats> {
  const cpuDir = cgroupDir(setup, "cpu", cgroupPath);
  const memDir = cgroupDir(setup, "memory", cgroupPath);
  const memLimit =
    want("memory") || want("spec")
      ? reads.read(memDir, "memory.limit_in_bytes")
      : Promise.resolve(undefined);
  const [cpu, memory, spec, pids, io, psi] = await Promise.all([
    want("cpu") ? readCpuV1(reads, cpuDir, cgroupDir(setup, "cpuacct", cgroupPath)) : undefined,
    want("memory") ? readMemoryV1(reads, memDir, memLimit) : undefined,
    want("spec") ? readSpecV1(reads, cpuDir, memLimit) : undefined,
    want("pids") ? readPids(reads, cgroupDir(setup, "pids", cgroupPath)) : undefined,
    want("io") ? readIoV1(reads, cgroupDir(setup, "blkio", cgroupPath)) : undefined,
    want("psi") ? readPsi(reads, unifiedCgroupDir(setup, cgroupPath)) : undefined,
  ]);
  return withDefined<CgroupStats>({}, { cpu, memory, spec, pids, io, psi });
}
