// The processes of one runtime and what memory they hold. A runtime's processes are its daemon,
// every process whose command line names the runtime's temp dir (berth's conmons, containerd's
// shims: both are re-parented away from the daemon) and all their descendants. Those in another
// mount namespace than the daemon's run inside containers: the benchmark's app (`sleep`) is the
// workload, not the runtime's; any other is what holds a pod (berth's infra init, containerd's
// pause). The rest are the runtime's helpers.
import { promises as fs, readlinkSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
  /** The mount namespace (`mnt:[inode]`). */
  mntNs: string;
}

export interface ProcMem extends ProcInfo {
  rssKiB: number;
  pssKiB: number;
}

export interface RuntimeProcs {
  daemon: ProcInfo | undefined;
  helpers: ProcInfo[];
  podHolders: ProcInfo[];
  workloads: ProcInfo[];
}

export const WORKLOAD_COMM = "sleep";

async function readProc(pid: number): Promise<ProcInfo | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    // comm is in parentheses and may hold spaces or parentheses itself.
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    const raw = await fs.readFile(`/proc/${pid}/cmdline`);
    const mntNs = await fs.readlink(`/proc/${pid}/ns/mnt`);
    return { pid, ppid, comm, cmdline: raw.toString("utf8").split("\0").join(" ").trim(), mntNs };
  } catch {
    return undefined; // exited meanwhile
  }
}

export async function listProcesses(): Promise<ProcInfo[]> {
  const pids = (await fs.readdir("/proc")).filter((n) => /^\d+$/.test(n)).map(Number);
  const out: ProcInfo[] = [];
  for (const pid of pids) {
    const p = await readProc(pid);
    if (p) out.push(p);
  }
  return out;
}

/** The benchmark's own mount namespace: the host's, as the daemons'. */
const hostMntNs = (() => {
  try {
    return readlinkSync("/proc/self/ns/mnt");
  } catch {
    return "";
  }
})();

/** Classifies the processes of the runtime whose daemon is `daemonPid` and temp dir `dir`. */
export function runtimeProcesses(
  all: readonly ProcInfo[],
  daemonPid: number | undefined,
  dir: string,
): RuntimeProcs {
  const marker = dir.endsWith("/") ? dir : `${dir}/`;
  const members = new Set<number>();
  for (const p of all) {
    if (p.pid === daemonPid || p.cmdline.includes(marker) || p.cmdline.endsWith(dir)) {
      members.add(p.pid);
    }
  }
  // Descendants, to a fixed point (a process may be listed before its parent).
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!members.has(p.pid) && members.has(p.ppid)) {
        members.add(p.pid);
        grew = true;
      }
    }
  }
  const procs: RuntimeProcs = { daemon: undefined, helpers: [], podHolders: [], workloads: [] };
  const hostNs = all.find((p) => p.pid === daemonPid)?.mntNs ?? hostMntNs;
  for (const p of all) {
    if (!members.has(p.pid)) continue;
    if (p.pid === daemonPid) procs.daemon = p;
    else if (p.mntNs === hostNs) procs.helpers.push(p);
    else if (p.comm === WORKLOAD_COMM) procs.workloads.push(p);
    else procs.podHolders.push(p);
  }
  return procs;
}

/** A `Key:   123 kB` line's number, 0 when absent. */
export function kibField(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** VmRSS from /proc/<pid>/status and Pss from /proc/<pid>/smaps_rollup; undefined once gone. */
export async function memoryOf(p: ProcInfo): Promise<ProcMem | undefined> {
  try {
    const status = await fs.readFile(`/proc/${p.pid}/status`, "utf8");
    const rollup = await fs.readFile(`/proc/${p.pid}/smaps_rollup`, "utf8");
    return { ...p, rssKiB: kibField(status, "VmRSS"), pssKiB: kibField(rollup, "Pss") };
  } catch {
    return undefined;
  }
}

export interface MemoryFigures {
  daemon: { rssKiB: number; pssKiB: number };
  helpers: { count: number; rssKiB: number; pssKiB: number; names: string[] };
  podHolders: { count: number; rssKiB: number; pssKiB: number; names: string[] };
  workloads: number;
}

async function sum(procs: readonly ProcInfo[]): Promise<{ rssKiB: number; pssKiB: number }> {
  let rssKiB = 0;
  let pssKiB = 0;
  for (const p of procs) {
    const m = await memoryOf(p);
    if (!m) continue;
    rssKiB += m.rssKiB;
    pssKiB += m.pssKiB;
  }
  return { rssKiB, pssKiB };
}

/** The memory of a runtime right now. */
export async function measureRuntime(
  daemonPid: number | undefined,
  dir: string,
): Promise<MemoryFigures> {
  const procs = runtimeProcesses(await listProcesses(), daemonPid, dir);
  if (!procs.daemon) throw new Error(`daemon ${String(daemonPid)} is not running`);
  const names = (ps: ProcInfo[]) => [...new Set(ps.map((p) => p.comm))].sort();
  return {
    daemon: await sum([procs.daemon]),
    helpers: {
      count: procs.helpers.length,
      names: names(procs.helpers),
      ...(await sum(procs.helpers)),
    },
    podHolders: {
      count: procs.podHolders.length,
      names: names(procs.podHolders),
      ...(await sum(procs.podHolders)),
    },
    workloads: procs.workloads.length,
  };
}
