// Reads one cgroup of a v2 (unified) tree: all controllers' files in one directory, every file
// of the reading started at once.
import type { CgroupFileReads } from "./cgroup-files.js";
import { unifiedCgroupDir } from "./detect-setup.js";
import { cpuWeightToShares, parseCpuMax } from "./parse-cpu.js";
import { parseIoStatV2 } from "./parse-io.js";
import {
  limitValue,
  maxBigint,
  parseFlatKeyed,
  parseMaxOrUnsigned,
  parseSmallInt,
  parseUnsigned,
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
type Text = Promise<string | undefined>;

async function readCpuV2(reads: CgroupFileReads, dir: Dir): Promise<CpuStats | undefined> {
  const text = await reads.read(dir, "cpu.stat");
  const stat = parseFlatKeyed(text);
  const usageUs = stat.get("usage_usec");
  if (usageUs === undefined) return undefined;
  return {
    usageNs: usageUs * 1000n,
    userNs: (stat.get("user_usec") ?? 0n) * 1000n,
    systemNs: (stat.get("system_usec") ?? 0n) * 1000n,
    periods: stat.get("nr_periods") ?? 0n,
    throttledPeriods: stat.get("nr_throttled") ?? 0n,
    throttledNs: (stat.get("throttled_usec") ?? 0n) * 1000n,
  };
}

async function readMemoryV2(
  reads: CgroupFileReads,
  dir: Dir,
  maxText: Text,
): Promise<MemoryStats | undefined> {
  const [usageText, statText, eventsText, peakText, swapText, swapMaxText, max] = await Promise.all(
    [
      reads.read(dir, "memory.current"),
      reads.read(dir, "memory.stat"),
      reads.read(dir, "memory.events"),
      reads.read(dir, "memory.peak"),
      reads.read(dir, "memory.swap.current"),
      reads.read(dir, "memory.swap.max"),
      maxText,
    ],
  );
  const usage = parseUnsigned(usageText);
  if (usage === undefined) return undefined;
  const stat = parseFlatKeyed(statText);
  const events = eventsText === undefined ? undefined : parseFlatKeyed(eventsText);
  return withDefined<MemoryStats>(
    {
      usage,
      workingSet: maxBigint(0n, usage - (stat.get("inactive_file") ?? 0n)),
      rss: stat.get("anon") ?? 0n,
      cache: stat.get("file") ?? 0n,
      mappedFile: stat.get("file_mapped") ?? 0n,
      pgfault: stat.get("pgfault") ?? 0n,
      pgmajfault: stat.get("pgmajfault") ?? 0n,
    },
    {
      swap: parseUnsigned(swapText),
      kernel: stat.get("kernel"),
      maxUsage: parseUnsigned(peakText),
      failcnt: events?.get("max"),
      limit: limitValue(parseMaxOrUnsigned(max)),
      swapLimit: limitValue(parseMaxOrUnsigned(swapMaxText)),
      oomEvents: events?.get("oom_kill"),
    },
  );
}

async function readSpecV2(
  reads: CgroupFileReads,
  dir: Dir,
  maxText: Text,
): Promise<ResourceSpec | undefined> {
  const [weightText, cpuMaxText, max] = await Promise.all([
    reads.read(dir, "cpu.weight"),
    reads.read(dir, "cpu.max"),
    maxText,
  ]);
  if (weightText === undefined && cpuMaxText === undefined && max === undefined) return undefined;
  const weight = parseSmallInt(weightText);
  const cfs = parseCpuMax(cpuMaxText);
  return withDefined<ResourceSpec>(
    {},
    {
      cpuShares: weight === undefined ? undefined : cpuWeightToShares(weight),
      cpuQuota: cfs?.quota,
      cpuPeriod: cfs?.period,
      memoryLimit: limitValue(parseMaxOrUnsigned(max)),
    },
  );
}

async function readIoV2(reads: CgroupFileReads, dir: Dir): Promise<IoDeviceStats[] | undefined> {
  const text = await reads.read(dir, "io.stat");
  return text === undefined ? undefined : parseIoStatV2(text);
}

export async function readV2Stats(
  setup: CgroupSetup,
  cgroupPath: string,
  want: SectionWanted,
  reads: CgroupFileReads,
): Promise<CgroupStats> {
  const dir = unifiedCgroupDir(setup, cgroupPath);
  const memMax =
    want("memory") || want("spec") ? reads.read(dir, "memory.max") : Promise.resolve(undefined);
  const [cpu, memory, spec, pids, io, psi] = await Promise.all([
    want("cpu") ? readCpuV2(reads, dir) : undefined,
    want("memory") ? readMemoryV2(reads, dir, memMax) : undefined,
    want("spec") ? readSpecV2(reads, dir, memMax) : undefined,
    want("pids") ? readPids(reads, dir) : undefined,
    want("io") ? readIoV2(reads, dir) : undefined,
    want("psi") ? readPsi(reads, dir) : undefined,
  ]);
  return withDefined<CgroupStats>({}, { cpu, memory, spec, pids, io, psi });
}
