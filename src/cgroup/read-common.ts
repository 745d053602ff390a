// Pieces shared by the v1 and v2 readers: the pids section (same files in both), PSI (v2
// files, also readable on hybrid hosts through the cgroup2 mount) and result assembly.
import type { CgroupFileReads } from "./cgroup-files.js";
import { parsePressure } from "./parse-pressure.js";
import { limitValue, parseMaxOrUnsigned, parseUnsigned, toSafeNumber } from "./parse-values.js";
import type { PidsStats, PsiStats, StatsSection } from "./types.js";

export type SectionWanted = (section: StatsSection) => boolean;

export async function readPids(
  reads: CgroupFileReads,
  dir: string | undefined,
): Promise<PidsStats | undefined> {
  const [currentText, maxText] = await Promise.all([
    reads.read(dir, "pids.current"),
    reads.read(dir, "pids.max"),
  ]);
  const current = toSafeNumber(parseUnsigned(currentText));
  if (current === undefined) return undefined;
  const limit = toSafeNumber(limitValue(parseMaxOrUnsigned(maxText)));
  return limit === undefined ? { current } : { current, limit };
}

export async function readPsi(
  reads: CgroupFileReads,
  dir: string | undefined,
): Promise<PsiStats | undefined> {
  if (dir === undefined) return undefined;
  const [cpu, memory, io] = (
    await Promise.all([
      reads.read(dir, "cpu.pressure"),
      reads.read(dir, "memory.pressure"),
      reads.read(dir, "io.pressure"),
    ])
  ).map(parsePressure);
  if (cpu === undefined && memory === undefined && io === undefined) return undefined;
  const psi: PsiStats = {};
  if (cpu !== undefined) psi.cpu = cpu;
  if (memory !== undefined) psi.memory = memory;
  if (io !== undefined) psi.io = io;
  return psi;
}

/** Copies into `base` the fields of `extra` that are not undefined (optional fields stay absent). */
export function withDefined<T extends object>(base: T, extra: Partial<T>): T {
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined) (base as Record<string, unknown>)[k] = v;
  }
  return base;
}
