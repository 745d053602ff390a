// The cgroup layout (v1, v2 or hybrid), the controllers berth limits and reads, what the layout
// means for crun (1.8 refuses hybrid hosts whose cgroup2 mount holds a controller), and whether
// the configured cgroup driver can work here.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { BerthConfig } from "../../config/config.js";
import { errorMessage } from "../../errors.js";
import { loadCgroupSetup } from "../../cgroup/detect-setup.js";
import type { CgroupSetup } from "../../cgroup/types.js";
import { type CheckLine, fail, ok, warn } from "./report.js";

/** Controllers berth sets limits with or reads stats from. */
export const WANTED_CONTROLLERS = ["cpu", "cpuacct", "memory", "pids", "cpuset", "blkio"] as const;

/**
 * One line for the layout. `unifiedControllers` is the cgroup2 mount's cgroup.controllers (in
 * hybrid mode: what v1 no longer has).
 */
export function cgroupLayoutLine(setup: CgroupSetup, unifiedControllers: string[]): CheckLine {
  const v1 = Object.keys(setup.controllers).sort();
  if (setup.mode === "v2") {
    const missing = ["cpu", "memory", "pids"].filter((c) => !unifiedControllers.includes(c));
    const detail = `v2 (unified at ${setup.unifiedMount}; controllers ${unifiedControllers.join(",") || "none"})`;
    if (missing.length > 0) {
      return warn(
        "cgroups",
        `${detail}, missing ${missing.join(",")}`,
        "enable those controllers in the root cgroup's cgroup.subtree_control",
      );
    }
    return ok("cgroups", `${detail}; crun and runc both work`);
  }
  const missing = WANTED_CONTROLLERS.filter((c) => !v1.includes(c));
  const base = `v1 controllers ${v1.join(",")}`;
  const missingNote = missing.length > 0 ? `; missing ${missing.join(",")}` : "";
  if (setup.mode === "v1") {
    return ok("cgroups", `v1 (${base}${missingNote}); crun and runc both work`);
  }
  const held = unifiedControllers.length > 0 ? unifiedControllers.join(",") : "no controller";
  const detail = `hybrid (${base}${missingNote}; cgroup2 at ${setup.unifiedMount} holds ${held})`;
  if (unifiedControllers.length === 0) return ok("cgroups", `${detail}; crun and runc both work`);
  return warn(
    "cgroups",
    `${detail}: crun 1.8 refuses to create containers on this layout, runc works`,
    `to use crun, boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2) or mount ${held} as v1 hierarchies; berth uses runc meanwhile`,
  );
}

export function cgroupDriverLine(
  driver: BerthConfig["cgroup_driver"],
  systemdRuns: boolean,
): CheckLine {
  if (driver === "systemd" && !systemdRuns) {
    return fail(
      "cgroup driver",
      "systemd, but systemd is not running here",
      'set cgroup_driver = "cgroupfs" (and kubelet\'s cgroupDriver: cgroupfs)',
    );
  }
  if (driver === "cgroupfs" && systemdRuns) {
    return warn(
      "cgroup driver",
      "cgroupfs on a host where systemd runs: two managers of one cgroup tree",
      'set cgroup_driver = "systemd" here and cgroupDriver: systemd in kubelet',
    );
  }
  return ok("cgroup driver", `${driver} (kubelet's cgroupDriver must match)`);
}

export async function systemdRuns(): Promise<boolean> {
  return fs.stat("/run/systemd/system").then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function cgroupLines(config: BerthConfig): Promise<CheckLine[]> {
  let layout: CheckLine;
  try {
    const setup = await loadCgroupSetup();
    const text =
      setup.unifiedMount === undefined
        ? ""
        : await fs
            .readFile(path.join(setup.unifiedMount, "cgroup.controllers"), "utf8")
            .catch(() => "");
    layout = cgroupLayoutLine(
      setup,
      text.split(/\s+/).filter((c) => c !== ""),
    );
  } catch (err) {
    layout = fail("cgroups", errorMessage(err), "mount the cgroup file systems (v1 or v2)");
  }
  return [layout, cgroupDriverLine(config.cgroup_driver, await systemdRuns())];
}
