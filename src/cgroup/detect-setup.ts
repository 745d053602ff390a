// Works out how cgroups are mounted: v1 (one hierarchy per controller, or co-mounted groups
// like `cpu,cpuacct`), v2 (one unified tree), or hybrid (v1 controllers plus a cgroup2 mount,
// usually /sys/fs/cgroup/unified). Detection is a pure function of a mountinfo text, with the
// cgroup root re-basable so tests can point it at a fixture tree.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { FailedPreconditionError } from "../errors.js";
import { lexicalJoin } from "../util/secure-join.js";
import { SELF_MOUNTINFO, parseMountinfo } from "../util/mountinfo.js";
import type { CgroupSetup } from "./types.js";

/** Where hosts mount cgroups; mount points below it are re-based onto `root`. */
export const HOST_CGROUP_ROOT = "/sys/fs/cgroup";
export const DEFAULT_MOUNTINFO_PATH = SELF_MOUNTINFO;

/** v1 controllers the kernel knows; other super options (rw, name=systemd, xattr, ...) are not. */
const V1_CONTROLLERS = new Set([
  "blkio",
  "cpu",
  "cpuacct",
  "cpuset",
  "devices",
  "freezer",
  "hugetlb",
  "memory",
  "misc",
  "net_cls",
  "net_prio",
  "perf_event",
  "pids",
  "rdma",
  "debug",
]);

/** Controllers a v2 tree can offer; whether a cgroup has their files depends on subtree_control. */
const V2_CONTROLLERS = ["cpu", "cpuset", "io", "memory", "hugetlb", "pids", "rdma", "misc"];

export interface DetectOptions {
  /** The text of a mountinfo file. */
  mountinfo: string;
  /**
   * Where the cgroup mounts really are. Mount points under /sys/fs/cgroup in the mountinfo are
   * moved here (a fixture tree in tests); others are kept as they are. Default /sys/fs/cgroup.
   */
  root?: string;
}

function rebase(mountPoint: string, root: string | undefined): string {
  if (root === undefined) return mountPoint;
  if (mountPoint === HOST_CGROUP_ROOT) return root;
  if (mountPoint.startsWith(HOST_CGROUP_ROOT + "/")) {
    return path.join(root, mountPoint.slice(HOST_CGROUP_ROOT.length + 1));
  }
  return mountPoint;
}

export function detectCgroupSetup(opts: DetectOptions): CgroupSetup {
  const controllers: Record<string, string> = {};
  let unifiedMount: string | undefined;
  let v1Hierarchies = 0;
  for (const m of parseMountinfo(opts.mountinfo)) {
    if (m.fsType === "cgroup2") {
      // The first cgroup2 mount wins; later ones are bind mounts of parts of it.
      unifiedMount ??= rebase(m.mountPoint, opts.root);
    } else if (m.fsType === "cgroup") {
      const names = m.superOptions.filter((o) => V1_CONTROLLERS.has(o));
      if (names.length === 0) continue; // a named hierarchy such as name=systemd
      v1Hierarchies++;
      const dir = rebase(m.mountPoint, opts.root);
      for (const name of names) controllers[name] ??= dir;
    }
  }
  if (v1Hierarchies > 0) {
    return unifiedMount === undefined
      ? { mode: "v1", controllers }
      : { mode: "hybrid", controllers, unifiedMount };
  }
  if (unifiedMount !== undefined) {
    for (const name of V2_CONTROLLERS) controllers[name] = unifiedMount;
    return { mode: "v2", controllers, unifiedMount };
  }
  throw new FailedPreconditionError(
    "no cgroup file system is mounted (no cgroup or cgroup2 in mountinfo)",
  );
}

/** Reads a mountinfo file (default /proc/self/mountinfo) and detects the setup from it. */
export async function loadCgroupSetup(
  opts: { mountinfoPath?: string; root?: string } = {},
): Promise<CgroupSetup> {
  const mountinfo = await fs.readFile(opts.mountinfoPath ?? DEFAULT_MOUNTINFO_PATH, "utf8");
  return detectCgroupSetup(
    opts.root === undefined ? { mountinfo } : { mountinfo, root: opts.root },
  );
}

/**
 * The directory of `cgroupPath` (relative to each hierarchy's root, e.g. "/kubepods/pod1/abc")
 * in `controller`'s hierarchy; undefined when the controller is not mounted. `..` cannot climb
 * out of the hierarchy.
 */
export function cgroupDir(
  setup: CgroupSetup,
  controller: string,
  cgroupPath: string,
): string | undefined {
  const mount = setup.controllers[controller];
  return mount === undefined ? undefined : lexicalJoin(mount, cgroupPath);
}

/** `cgroupPath` in the cgroup2 mount (v2 tree, or hybrid's unified mount). */
export function unifiedCgroupDir(setup: CgroupSetup, cgroupPath: string): string | undefined {
  return setup.unifiedMount === undefined ? undefined : lexicalJoin(setup.unifiedMount, cgroupPath);
}

/**
 * A directory of the cgroup whose cgroup.procs lists its processes: the unified tree in v2,
 * else the first mounted of pids, memory, cpu, cpuacct (any v1 hierarchy lists the same pids
 * when the runtime placed the process in all of them).
 */
export function cgroupProcsDir(setup: CgroupSetup, cgroupPath: string): string | undefined {
  if (setup.mode === "v2") return unifiedCgroupDir(setup, cgroupPath);
  for (const c of ["pids", "memory", "cpu", "cpuacct"]) {
    const dir = cgroupDir(setup, c, cgroupPath);
    if (dir !== undefined) return dir;
  }
  return undefined;
}
