// The files conmon leaves when a container ends: `<exit-dir>/<id>` holding the decimal exit
// status (128 + signal for a signal death, -1 when conmon could not tell), and `<persist-dir>/oom`
// when the kernel OOM-killed something in the container's memory cgroup.
import { readFile, stat } from "node:fs/promises";
import * as path from "node:path";
import { isErrno } from "../../errors.js";

export interface ExitRecord {
  exitCode: number;
  /** When conmon wrote the file: its mtime in ns since the epoch. */
  finishedAt: bigint;
}

/** The exit status in an exit file's text; undefined for anything but one (signed) integer. */
export function parseExitCode(text: string): number | undefined {
  const t = text.trim();
  if (!/^-?\d{1,10}$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 ? n : undefined;
}

/** Reads `<exitDir>/<id>`; undefined while the container has not exited (or the file is torn). */
export async function readExitFile(exitDir: string, id: string): Promise<ExitRecord | undefined> {
  const file = path.join(exitDir, id);
  try {
    // Content first, then mtime: the mtime is then that of the write we read (or later), never
    // an earlier one of a writer that creates the file before filling it.
    const text = await readFile(file, "utf8");
    const exitCode = parseExitCode(text);
    if (exitCode === undefined) return undefined;
    const st = await stat(file, { bigint: true });
    return { exitCode, finishedAt: st.mtimeNs };
  } catch (err) {
    if (isErrno(err, "ENOENT")) return undefined;
    throw err;
  }
}

/** The `oom_kill` counter in cgroup v1 `memory.oom_control` or cgroup v2 `memory.events`. */
export function parseOomKillCount(text: string): bigint | undefined {
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m?.[1] !== undefined ? BigInt(m[1]) : undefined;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return false;
    throw err;
  }
}

/**
 * Whether the container was OOM-killed: conmon's `<persistDir>/oom` marker, or else (while the
 * cgroup still exists, e.g. for a container whose runtime record was not deleted yet) a non-zero
 * `oom_kill` counter in `memoryCgroupDir`. The runtime removes the cgroup on delete, so call this
 * before deleting.
 */
export async function wasOomKilled(persistDir: string, memoryCgroupDir?: string): Promise<boolean> {
  if (await exists(path.join(persistDir, "oom"))) return true;
  if (memoryCgroupDir === undefined) return false;
  for (const name of ["memory.oom_control", "memory.events"]) {
    try {
      const count = parseOomKillCount(await readFile(path.join(memoryCgroupDir, name), "utf8"));
      if (count !== undefined) return count > 0n;
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
    }
  }
  return false;
}
