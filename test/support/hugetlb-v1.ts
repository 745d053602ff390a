// crun 1.8 refuses a host whose cgroup2 mount still holds a controller. On this hybrid host that
// is hugetlb alone (every other controller has a v1 mount), so, like the conformance kit's
// HANDLER=crun, a test can mount hugetlb as a v1 hierarchy for a while and then give it back
// to cgroup2. Both happen under the kit's lock (/tmp/critest.lock), so a kit run and a test never
// move it under each other; the lock is held by a child `flock` that lets go when this process
// ends, however it ends.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync } from "node:fs";
import * as path from "node:path";
import { mountPoints } from "../../src/util/mountinfo.js";

export const CRITEST_LOCK = "/tmp/critest.lock";
const UNIFIED_CONTROLLERS = "/sys/fs/cgroup/unified/cgroup.controllers";
const HUGETLB_V1 = "/sys/fs/cgroup/hugetlb";

/** The controllers still bound to the cgroup2 mount of a hybrid host ([] elsewhere). */
export function unifiedControllers(): string[] {
  if (!existsSync(UNIFIED_CONTROLLERS)) return [];
  return readFileSync(UNIFIED_CONTROLLERS, "utf8").split(/\s+/).filter(Boolean);
}

/** hugetlb's hierarchy id in /proc/cgroups: 0 when it belongs to cgroup2. */
function hugetlbHierarchy(): number | undefined {
  for (const line of readFileSync("/proc/cgroups", "utf8").split("\n")) {
    const f = line.split(/\s+/);
    if (f[0] === "hugetlb") return Number(f[1]);
  }
  return undefined;
}

function mounted(dir: string): boolean {
  return mountPoints(readFileSync("/proc/self/mountinfo", "utf8")).includes(dir);
}

/** Takes the kit's lock, waiting up to `timeoutMs`; undefined when it stayed taken. */
export async function takeCritestLock(
  timeoutMs: number,
): Promise<(() => Promise<void>) | undefined> {
  const child: ChildProcess = spawn(
    "flock",
    [
      "-w",
      String(Math.ceil(timeoutMs / 1000)),
      CRITEST_LOCK,
      "sh",
      "-c",
      "echo locked; exec cat >/dev/null",
    ],
    { stdio: ["pipe", "pipe", "ignore"] },
  );
  const locked = await new Promise<boolean>((resolve) => {
    child.stdout!.once("data", () => resolve(true));
    child.once("exit", () => resolve(false));
    child.once("error", () => resolve(false));
  });
  if (!locked) return undefined;
  return async () => {
    const gone = new Promise((r) => child.once("exit", r));
    child.stdin!.end();
    await gone;
  };
}

export interface HugetlbMove {
  /** Whether hugetlb was moved (false: nothing needed it, nothing to undo). */
  moved: boolean;
  /** Gives hugetlb back to cgroup2 and removes the mount point; throws if it cannot. */
  restore(): Promise<void>;
}

/**
 * Mounts hugetlb as a v1 hierarchy when the cgroup2 mount holds it and nothing else, so crun
 * accepts the host. Call with the kit's lock held.
 */
export function moveHugetlbToV1(): HugetlbMove {
  const controllers = unifiedControllers();
  if (controllers.length !== 1 || controllers[0] !== "hugetlb" || mounted(HUGETLB_V1)) {
    return { moved: false, restore: async () => undefined };
  }
  const madeDir = !existsSync(HUGETLB_V1);
  if (madeDir) mkdirSync(HUGETLB_V1);
  try {
    execFileSync("mount", ["-t", "cgroup", "-o", "hugetlb", "cgroup", HUGETLB_V1]);
  } catch (err) {
    if (madeDir) rmdirSync(HUGETLB_V1);
    throw err;
  }
  return {
    moved: true,
    restore: async () => {
      // The kernel keeps a v1 hierarchy while it has child cgroups, and destroys an emptied one
      // a moment after the unmount; only then is hugetlb cgroup2's again. The mount point goes
      // right after the unmount: runc 1.1 takes a plain /sys/fs/cgroup/hugetlb directory for
      // the hierarchy and writes its cgroup files into the tmpfs, so it must not linger.
      for (let attempt = 0; attempt < 3; attempt++) {
        if (mounted(HUGETLB_V1)) {
          removeChildCgroups(HUGETLB_V1);
          execFileSync("umount", [HUGETLB_V1]);
        }
        if (madeDir) removeMountPoint();
        for (let i = 0; i < 20 && hugetlbHierarchy() !== 0; i++) await sleep(500);
        if (hugetlbHierarchy() === 0) break;
        if (madeDir) mkdirSync(HUGETLB_V1, { recursive: true });
        execFileSync("mount", ["-t", "cgroup", "-o", "hugetlb", "cgroup", HUGETLB_V1]);
      }
      if (hugetlbHierarchy() !== 0 || !unifiedControllers().includes("hugetlb")) {
        throw new Error("could not give hugetlb back to cgroup2");
      }
    },
  };
}

/**
 * Removes the unmounted mount point. A runtime that ran in the moment between the unmount and
 * this may have made cgroup-looking directories and files in it: on the tmpfs they are plain
 * files of nothing, so they go too.
 */
function removeMountPoint(): void {
  if (mounted(HUGETLB_V1)) return;
  rmSync(HUGETLB_V1, { recursive: true, force: true });
}

function removeChildCgroups(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const child = path.join(dir, e.name);
    removeChildCgroups(child);
    try {
      rmdirSync(child);
    } catch {
      // still has processes: the retry in restore() waits for them
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
