// The part of a cgroup reading every sample needs: CPU counters and the memory figures that move
// (usage, memory.stat, OOM kills). 4-5 files instead of the ~20 of a full reading; limits,
// peaks, block I/O, PSI and process counts come from the slower tier (slow-stats-cache.ts).
// On a loaded host one cgroup file read costs 20-100 µs, so the file count is the budget.
import { CgroupFileReads } from "../cgroup/cgroup-files.js";
import { memoryFromV1Stat } from "../cgroup/read-v1.js";
import type { TextFileReader } from "../cgroup/worker-file-reader.js";
import { cgroupDir, unifiedCgroupDir } from "../cgroup/detect-setup.js";
import { maxBigint, parseFlatKeyed, parseUnsigned } from "../cgroup/parse-values.js";
import {
  readCgroupStats,
  type CgroupSetup,
  type CgroupStats,
  type MemoryStats,
} from "../cgroup/index.js";

export type HotStats = Pick<CgroupStats, "cpu" | "memory">;

type OnReadError = (file: string, error: unknown) => void;

async function readMemoryV1(reads: CgroupFileReads, dir: string | undefined) {
  const [usageText, statText, oomText] = await Promise.all([
    reads.read(dir, "memory.usage_in_bytes"),
    reads.read(dir, "memory.stat"),
    reads.read(dir, "memory.oom_control"),
  ]);
  const usage = parseUnsigned(usageText);
  if (usage === undefined) return undefined;
  const { memory, pick } = memoryFromV1Stat(usage, statText);
  const swap = pick("swap");
  if (swap !== undefined) memory.swap = swap;
  const oomKills = oomText === undefined ? undefined : parseFlatKeyed(oomText).get("oom_kill");
  if (oomKills !== undefined) memory.oomEvents = oomKills;
  return memory;
}

async function readMemoryV2(reads: CgroupFileReads, dir: string | undefined) {
  const [usageText, statText, eventsText, swapText] = await Promise.all([
    reads.read(dir, "memory.current"),
    reads.read(dir, "memory.stat"),
    reads.read(dir, "memory.events"),
    reads.read(dir, "memory.swap.current"),
  ]);
  const usage = parseUnsigned(usageText);
  if (usage === undefined) return undefined;
  const stat = parseFlatKeyed(statText);
  const memory: MemoryStats = {
    usage,
    workingSet: maxBigint(0n, usage - (stat.get("inactive_file") ?? 0n)),
    rss: stat.get("anon") ?? 0n,
    cache: stat.get("file") ?? 0n,
    mappedFile: stat.get("file_mapped") ?? 0n,
    pgfault: stat.get("pgfault") ?? 0n,
    pgmajfault: stat.get("pgmajfault") ?? 0n,
  };
  const swap = parseUnsigned(swapText);
  if (swap !== undefined) memory.swap = swap;
  if (eventsText !== undefined) {
    const events = parseFlatKeyed(eventsText);
    const oomKills = events.get("oom_kill");
    const max = events.get("max");
    if (oomKills !== undefined) memory.oomEvents = oomKills;
    if (max !== undefined) memory.failcnt = max;
  }
  return memory;
}

/** CPU and the fast-moving memory figures; undefined when the cgroup is gone. Never throws. */
export async function readHotStats(
  setup: CgroupSetup,
  cgroupPath: string,
  onReadError?: OnReadError,
  reader?: TextFileReader,
): Promise<HotStats | undefined> {
  const reads = new CgroupFileReads(onReadError, reader);
  const memory =
    setup.mode === "v2"
      ? readMemoryV2(reads, unifiedCgroupDir(setup, cgroupPath))
      : readMemoryV1(reads, cgroupDir(setup, "memory", cgroupPath));
  const opts = {
    ...(onReadError === undefined ? {} : { onReadError }),
    ...(reader === undefined ? {} : { reader }),
  };
  const [cpuPart, mem] = await Promise.all([
    readCgroupStats(setup, cgroupPath, { ...opts, sections: ["cpu"] }),
    memory,
  ]);
  if (cpuPart === undefined && !reads.anyFound) return undefined;
  const out: HotStats = {};
  if (cpuPart?.cpu !== undefined) out.cpu = cpuPart.cpu;
  if (mem !== undefined) out.memory = mem;
  return out;
}
