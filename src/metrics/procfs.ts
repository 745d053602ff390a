// Process, thread and open-file counts of the processes in one cgroup, from procfs (what
// cAdvisor exports as container_processes, container_threads, container_file_descriptors).
// Processes exit while we look: a pid whose /proc entry is gone is simply not counted.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { isMissingFileError, readOptionalText } from "../cgroup/cgroup-files.js";

export interface ProcessCounts {
  processes: number;
  threads: number;
  fds: number;
}

export interface ProcessCountOptions {
  /** Default /proc. */
  procRoot?: string;
  /** Count open files (one readdir per process). Default true. */
  fds?: boolean;
}

/** A cgroup.procs / tasks / cgroup.threads listing → its ids (one per line). */
export function parsePidList(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (/^\d+$/.test(t)) out.push(Number(t));
  }
  return out;
}

/** The `Threads:` count of a /proc/<pid>/status text. */
export function parseStatusThreads(text: string): number | undefined {
  const m = /^Threads:\s*(\d+)\s*$/m.exec(text);
  return m === null ? undefined : Number(m[1]);
}

async function countFds(procRoot: string, pid: number): Promise<number | undefined> {
  try {
    return (await fs.readdir(path.join(procRoot, String(pid), "fd"))).length;
  } catch (err: unknown) {
    if (isMissingFileError(err)) return undefined;
    throw err;
  }
}

/** Per-process figures; undefined when the process is gone. */
async function readProcess(
  procRoot: string,
  pid: number,
  wantFds: boolean,
  needThreads: boolean,
): Promise<{ threads: number; fds: number } | undefined> {
  const [status, fds] = await Promise.all([
    needThreads
      ? readOptionalText(path.join(procRoot, String(pid), "status"))
      : Promise.resolve(""),
    wantFds ? countFds(procRoot, pid) : Promise.resolve(0),
  ]);
  if (status === undefined || fds === undefined) return undefined;
  return { threads: needThreads ? (parseStatusThreads(status) ?? 1) : 0, fds };
}

/**
 * Counts processes, threads and open fds of the cgroup at `cgroupDir` (a directory in a
 * hierarchy, e.g. from cgroupProcsDir). Threads come from the cgroup's own thread listing
 * (v1 `tasks`, v2 `cgroup.threads`) when it has one, else from each process's status.
 * Undefined when the cgroup is gone. Errors other than "gone" (EACCES when not root) throw.
 */
export async function readCgroupProcessCounts(
  cgroupDir: string,
  opts: ProcessCountOptions = {},
): Promise<ProcessCounts | undefined> {
  const procRoot = opts.procRoot ?? "/proc";
  const [procsText, tasksText, threadsText] = await Promise.all([
    readOptionalText(path.join(cgroupDir, "cgroup.procs")),
    readOptionalText(path.join(cgroupDir, "tasks")),
    readOptionalText(path.join(cgroupDir, "cgroup.threads")),
  ]);
  if (procsText === undefined) return undefined;
  const threadList = tasksText ?? threadsText;
  const pids = parsePidList(procsText);
  const perProcess = await Promise.all(
    pids.map((pid) => readProcess(procRoot, pid, opts.fds ?? true, threadList === undefined)),
  );
  let processes = 0;
  let threads = 0;
  let fds = 0;
  for (const p of perProcess) {
    if (p === undefined) continue;
    processes++;
    threads += p.threads;
    fds += p.fds;
  }
  if (threadList !== undefined) threads = parsePidList(threadList).length;
  return { processes, threads, fds };
}
