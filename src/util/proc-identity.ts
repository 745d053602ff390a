// A process's identity is its pid *and* its start time: pids are reused, so a bare
// `kill(pid, 0)` can find a stranger under a recorded pid. /proc/<pid>/stat field 22 (starttime,
// in clock ticks since boot) tells one process from the next holder of the same pid.
import { readFile } from "node:fs/promises";

export interface ProcStat {
  /** One-letter state: R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  /** Clock ticks after boot, as a decimal string (it can pass 2^53 on long-lived hosts). */
  startTime: string;
}

/** Parses `/proc/<pid>/stat`; comm (field 2) may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // Fields from 3 on: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice num_threads itrealvalue starttime ...
  const f = text
    .slice(close + 2)
    .trim()
    .split(" ");
  const state = f[0];
  const ppid = Number(f[1]);
  const start = f[19];
  if (state === undefined || start === undefined || !/^\d+$/.test(start)) return undefined;
  return { state, ppid, startTime: start };
}

/** The stat of a live process; undefined when there is none (or only a zombie). */
export async function readProcStat(pid: number, procRoot = "/proc"): Promise<ProcStat | undefined> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = await readFile(`${procRoot}/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const st = parseProcStat(text);
  return st && st.state !== "Z" && st.state !== "X" ? st : undefined;
}

/** The start time of a live process, "" when it is gone. */
export async function processStartTime(pid: number, procRoot = "/proc"): Promise<string> {
  return (await readProcStat(pid, procRoot))?.startTime ?? "";
}

/**
 * Whether `pid` is still the process recorded with `startTime`. With no recorded start time
 * (records of older versions) only the pid's liveness can be told.
 */
export async function sameProcessAlive(
  pid: number,
  startTime: string | undefined,
  procRoot = "/proc",
): Promise<boolean> {
  const st = await readProcStat(pid, procRoot);
  if (!st) return false;
  return startTime === undefined || startTime === "" || st.startTime === startTime;
}

/** Linux's USER_HZ: /proc reports times in these ticks on every architecture Node runs on. */
const CLK_TCK = 100n;

/** Boot time in seconds since the epoch (`btime` of /proc/stat). */
export async function bootTimeSeconds(procRoot = "/proc"): Promise<bigint | undefined> {
  try {
    const m = /^btime (\d+)$/m.exec(await readFile(`${procRoot}/stat`, "utf8"));
    return m?.[1] !== undefined ? BigInt(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A process start time (ticks since boot) as ns since the epoch. */
export function startTimeToNs(startTicks: string, bootSeconds: bigint): bigint {
  return bootSeconds * 1_000_000_000n + (BigInt(startTicks) * 1_000_000_000n) / CLK_TCK;
}
