// What a container's cgroup really holds, for the two places berth must not trust its own
// record: the resources after an UpdateContainerResources (the runtime can fail half-way and
// leave new values in place), and the processes left behind when the main process exits (in a
// shared pid namespace they do not die with it).
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import type { LinuxContainerResources__Output } from "../gen/runtime/v1/LinuxContainerResources.js";
import { ociCgroupsPathToCgroupPath, type CgroupDriver } from "./cgroup-paths.js";
import { cgroupDir, cgroupProcsDir, unifiedCgroupDir } from "./detect-setup.js";
import { cpuWeightToShares } from "./parse-cpu.js";
import type { CgroupSetup } from "./types.js";

/** Directories of one container's cgroup. */
export interface ContainerCgroupDirs {
  /** The dir of `controller` (v1), or the unified dir for every controller (v2). */
  dir(controller: "cpu" | "cpuset" | "memory"): string | undefined;
  /** A dir whose cgroup.procs lists the container's processes. */
  procsDir: string | undefined;
  v2: boolean;
}

/**
 * The dirs of the container whose OCI cgroupsPath is `cgroupsPath` (in `driver`'s form) on this
 * setup; undefined when the path is not one the driver makes.
 */
export function containerCgroupDirs(
  setup: CgroupSetup,
  driver: CgroupDriver,
  cgroupsPath: string,
): ContainerCgroupDirs | undefined {
  let cgPath: string;
  try {
    cgPath = ociCgroupsPathToCgroupPath(cgroupsPath, driver);
  } catch {
    return undefined;
  }
  const v2 = setup.mode === "v2";
  return {
    v2,
    dir: (controller) =>
      v2 ? unifiedCgroupDir(setup, cgPath) : cgroupDir(setup, controller, cgPath),
    procsDir: cgroupProcsDir(setup, cgPath),
  };
}

async function readTrim(dir: string | undefined, file: string): Promise<string | undefined> {
  if (dir === undefined) return undefined;
  try {
    return (await readFile(path.join(dir, file), "utf8")).trim();
  } catch {
    return undefined;
  }
}

/** v1 reports "no limit" as a huge page-aligned number. */
const V1_UNLIMITED = 1n << 62n;

function limitOrZero(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (text === "max") return "0";
  if (!/^\d+$/.test(text)) return undefined;
  return BigInt(text) >= V1_UNLIMITED ? "0" : text;
}

/**
 * `base` (the resources berth meant) with every value the cgroup can tell replaced by what it
 * holds. CRI's "not set" is 0, so an unlimited quota or memory limit reads back as 0.
 */
export async function readCgroupResources(
  dirs: ContainerCgroupDirs,
  base: LinuxContainerResources__Output,
): Promise<LinuxContainerResources__Output> {
  const out = { ...base };
  const cpu = dirs.dir("cpu");
  const cpuset = dirs.dir("cpuset");
  const mem = dirs.dir("memory");
  if (!dirs.v2) {
    const shares = await readTrim(cpu, "cpu.shares");
    if (shares !== undefined && /^\d+$/.test(shares)) out.cpu_shares = shares;
    const quota = await readTrim(cpu, "cpu.cfs_quota_us");
    if (quota !== undefined && /^-?\d+$/.test(quota)) out.cpu_quota = quota === "-1" ? "0" : quota;
    const period = await readTrim(cpu, "cpu.cfs_period_us");
    if (period !== undefined && /^\d+$/.test(period)) out.cpu_period = period;
    const limit = limitOrZero(await readTrim(mem, "memory.limit_in_bytes"));
    if (limit !== undefined) out.memory_limit_in_bytes = limit;
    const memsw = limitOrZero(await readTrim(mem, "memory.memsw.limit_in_bytes"));
    if (memsw !== undefined && base.memory_swap_limit_in_bytes !== "0") {
      out.memory_swap_limit_in_bytes = memsw;
    }
  } else {
    const weight = await readTrim(cpu, "cpu.weight");
    if (weight !== undefined && /^\d+$/.test(weight)) {
      // kubelet's inverse of its own shares → weight mapping (integer math, as it computes).
      const shares = cpuWeightToShares(Number(weight));
      if (shares !== undefined) out.cpu_shares = String(shares);
    }
    const max = await readTrim(cpu, "cpu.max");
    const m = max !== undefined ? /^(max|\d+) (\d+)$/.exec(max) : null;
    if (m?.[1] !== undefined && m[2] !== undefined) {
      out.cpu_quota = m[1] === "max" ? "0" : m[1];
      out.cpu_period = m[2];
    }
    const limit = limitOrZero(await readTrim(mem, "memory.max"));
    if (limit !== undefined) out.memory_limit_in_bytes = limit;
  }
  const cpus = await readTrim(cpuset, "cpuset.cpus");
  if (cpus !== undefined && base.cpuset_cpus !== "") out.cpuset_cpus = cpus;
  const mems = await readTrim(cpuset, "cpuset.mems");
  if (mems !== undefined && base.cpuset_mems !== "") out.cpuset_mems = mems;
  return out;
}

/** The pids cgroup.procs lists ([] when the cgroup is gone). */
export async function cgroupPids(procsDir: string | undefined): Promise<number[]> {
  const text = await readTrim(procsDir, "cgroup.procs");
  if (text === undefined || text === "") return [];
  return text
    .split("\n")
    .map(Number)
    .filter((n) => Number.isSafeInteger(n) && n > 0);
}

/**
 * SIGKILLs every process left in the cgroup, round after round (a process may fork while the
 * previous round runs), until none is left or `timeoutMs` passed. Returns how many are left.
 */
export async function killCgroupProcesses(
  procsDir: string | undefined,
  timeoutMs = 2000,
  kill: (pid: number) => void = (pid) => process.kill(pid, "SIGKILL"),
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = await cgroupPids(procsDir);
    if (pids.length === 0) return 0;
    if (Date.now() > deadline) return pids.length;
    for (const pid of pids) {
      try {
        kill(pid);
      } catch {
        // exited meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
