// Removing the cgroup directories a runtime made for a cgroupfs `cgroupsPath`. runc and crun remove
// the container's leaf on delete but leave the parents they created ("/berth-probe-x" of
// "/berth-probe-x/<id>"), in every v1 hierarchy and in the v2 one of a hybrid host.
import { readFile, rmdir } from "node:fs/promises";
import * as path from "node:path";
import { InvalidArgumentError, isErrno } from "../errors.js";
import { SELF_MOUNTINFO, parseMountinfo } from "../util/mountinfo.js";

export interface CgroupMount {
  mountPoint: string;
  /** The cgroup this mount shows as its root ("/" unless a cgroup namespace or bind hides it). */
  root: string;
  fsType: "cgroup" | "cgroup2";
}

/** The cgroup and cgroup2 mounts listed in a /proc/<pid>/mountinfo text. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const m of parseMountinfo(mountinfo)) {
    if (m.fsType !== "cgroup" && m.fsType !== "cgroup2") continue;
    mounts.push({ mountPoint: m.mountPoint, root: m.root, fsType: m.fsType });
  }
  return mounts;
}

/** "/a/b/c" → ["/a/b/c", "/a/b", "/a"]: the order in which rmdir can succeed. */
export function cgroupDirChain(cgroupsPath: string): string[] {
  if (!cgroupsPath.startsWith("/") || cgroupsPath.split("/").some((p) => p === ".." || p === ".")) {
    throw new InvalidArgumentError(
      "cgroupsPath",
      `must be an absolute cgroupfs path: ${cgroupsPath}`,
    );
  }
  const parts = cgroupsPath.split("/").filter((p) => p !== "");
  const chain: string[] = [];
  for (let i = parts.length; i > 0; i--) chain.push("/" + parts.slice(0, i).join("/"));
  return chain;
}

async function rmdirPatiently(dir: string): Promise<void> {
  // A cgroup whose last task has just exited can report EBUSY for a moment.
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      if (isErrno(err, "ENOENT")) return;
      if (isErrno(err, "EBUSY") && attempt < 20) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      throw err;
    }
  }
}

/**
 * Removes every directory of `cgroupsPath` (leaf first, up to its top component) in every cgroup
 * hierarchy mounted here. Only empty cgroups can be removed, so this cannot destroy a cgroup that
 * still holds processes or other children; those errors (EBUSY, ENOTEMPTY) are returned, not thrown.
 */
export async function removeCgroupPath(
  cgroupsPath: string,
  mountinfoPath = SELF_MOUNTINFO,
  /** How many levels to remove, leaf first (default all); parents kubelet owns stay. */
  levels = Infinity,
): Promise<string[]> {
  const chain = cgroupDirChain(cgroupsPath).slice(0, levels);
  const mounts = parseCgroupMounts(await readFile(mountinfoPath, "utf8"));
  const failures: string[] = [];
  for (const m of mounts) {
    for (const rel of chain) {
      const dir = path.join(m.mountPoint, rel);
      try {
        await rmdirPatiently(dir);
      } catch (err) {
        failures.push(`${dir}: ${err instanceof Error ? err.message : String(err)}`);
        break; // its parents cannot be empty either
      }
    }
  }
  return failures;
}
