// The one entry point for cgroup statistics, whatever the host's cgroup setup: v1 and hybrid
// hosts go through the v1 reader (plus PSI from the cgroup2 mount), v2 hosts through the v2
// reader. Both produce the same CgroupStats shape.
import { CgroupFileReads } from "./cgroup-files.js";
import { readV1Stats } from "./read-v1.js";
import { readV2Stats } from "./read-v2.js";
import {
  ALL_STATS_SECTIONS,
  type CgroupSetup,
  type CgroupStats,
  type ReadStatsOptions,
} from "./types.js";

/**
 * Reads the statistics of the cgroup at `cgroupPath` (relative to each hierarchy's root, e.g.
 * "/kubepods/pod123/abc"). Sections whose controllers or files are missing are absent;
 * undefined when none of its files exist (the cgroup is gone). Never throws.
 *
 * Cost: ~20 small file reads on v1 (all started together), ~16 on v2. Callers scraping many
 * cgroups can pass `sections` to skip what they do not need, e.g. `spec` (limits change
 * rarely) on most scrapes.
 */
export async function readCgroupStats(
  setup: CgroupSetup,
  cgroupPath: string,
  opts: ReadStatsOptions = {},
): Promise<CgroupStats | undefined> {
  const sections = new Set(opts.sections ?? ALL_STATS_SECTIONS);
  const want = (s: keyof CgroupStats): boolean => sections.has(s);
  const reads = new CgroupFileReads(opts.onReadError, opts.reader);
  const stats =
    setup.mode === "v2"
      ? await readV2Stats(setup, cgroupPath, want, reads)
      : await readV1Stats(setup, cgroupPath, want, reads);
  return reads.anyFound ? stats : undefined;
}

/** The same reading bound to one setup, for callers that hold a reader rather than a setup. */
export interface CgroupStatsReader {
  readonly setup: CgroupSetup;
  read(cgroupPath: string, opts?: ReadStatsOptions): Promise<CgroupStats | undefined>;
}

export function createCgroupStatsReader(setup: CgroupSetup): CgroupStatsReader {
  return { setup, read: (cgroupPath, opts) => readCgroupStats(setup, cgroupPath, opts) };
}
