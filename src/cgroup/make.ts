// The pod-level cgroup of a pod without an infra container. The infra's runtime used to make the
// pod's parent (berth's default `/berth/<id>`) as a side effect of creating the infra's leaf;
// without an infra berth makes it itself, so the pod's stats have a cgroup to read from the start
// and its containers land under it. A parent kubelet gave is kubelet's to make.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { cgroupDirChain, parseCgroupMounts } from "./remove.js";

async function readTrim(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    return undefined;
  }
}

/**
 * cgroup v1 cpuset: a new cgroup starts with empty cpus and mems and takes no task until they
 * are set. Copied from the parent, as runc does for the parents it makes.
 */
async function fillCpuset(dir: string): Promise<void> {
  for (const f of ["cpuset.cpus", "cpuset.mems"]) {
    const own = await readTrim(path.join(dir, f));
    if (own === undefined || own !== "") continue;
    const parent = await readTrim(path.join(path.dirname(dir), f));
    if (parent !== undefined && parent !== "") await writeFile(path.join(dir, f), parent);
  }
}

/**
 * Makes `cgroupsPath` (cgroupfs form, e.g. `/berth/<id>`) and its missing parents in every
 * cgroup hierarchy mounted here, as the runtimes do for a container's path.
 */
export async function makeCgroupPath(
  cgroupsPath: string,
  mountinfoPath = "/proc/self/mountinfo",
): Promise<void> {
  const chain = cgroupDirChain(cgroupsPath).reverse(); // top first
  const mounts = parseCgroupMounts(await readFile(mountinfoPath, "utf8"));
  await Promise.all(
    mounts.map(async (m) => {
      for (const rel of chain) {
        const dir = path.join(m.mountPoint, rel);
        await mkdir(dir, { recursive: true });
        // Only the cpuset hierarchy has the files; elsewhere this reads nothing and writes none.
        if (m.fsType === "cgroup") await fillCpuset(dir);
      }
    }),
  );
}
