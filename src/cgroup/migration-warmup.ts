// Every move of a task between cgroups (a write to a cgroup.procs file, which `runc create` makes
// for the container's process and `runc exec` for the exec'd one) takes the kernel's one
// cgroup_threadgroup_rwsem for writing. Unless the hierarchy is mounted with favordynmods, the
// first such write after a quiet spell waits for an RCU grace period (rcu_sync_enter), and
// writes within a grace period after it do not. The runtime paid that wait itself. berthd
// instead writes its own pid into the cgroup.procs of the cgroup it is already in (a move to
// where it is: nothing changes) as it starts conmon or a runtime exec, so the grace period runs
// while they start up. `make bench steps`, runc: CreateContainer's `create` step 29-33 ms
// without it, 21-23 ms with it; an ExecSync 40 ms against 32.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { CgroupSetup } from "./types.js";

export const SELF_CGROUP = "/proc/self/cgroup";

/**
 * The cgroup.procs file of the cgroup this process is in (`procSelfCgroup`: the text of
 * /proc/self/cgroup): on the cgroup2 mount when there is one, else on a v1 controller's
 * hierarchy; undefined when neither is found.
 */
export function ownCgroupProcsFile(setup: CgroupSetup, procSelfCgroup: string): string | undefined {
  const entries = procSelfCgroup
    .split("\n")
    .map((line) => /^(\d+):([^:]*):(\/.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ hierarchy: m[1]!, controllers: m[2]!.split(","), path: m[3]! }));
  const unified = entries.find((e) => e.hierarchy === "0" && e.controllers.join("") === "");
  if (setup.unifiedMount !== undefined && unified !== undefined) {
    return path.join(setup.unifiedMount, unified.path, "cgroup.procs");
  }
  if (setup.mode === "v2") return undefined;
  for (const e of entries) {
    for (const c of e.controllers) {
      const mount = setup.controllers[c];
      if (mount !== undefined) return path.join(mount, e.path, "cgroup.procs");
    }
  }
  return undefined;
}

export type WriteFile = (file: string, text: string) => Promise<void>;

/** Starts the no-op move above; one at a time (a second would find the grace period run). */
export class CgroupMigrationWarmup {
  private inFlight = false;

  constructor(
    private readonly procsFile: string | undefined,
    private readonly pid: number = process.pid,
    private readonly write: WriteFile = (file, text) => fs.writeFile(file, text),
  ) {}

  /** Never fails and never waits: a host that refuses the write only misses the head start. */
  kick(): void {
    if (this.procsFile === undefined || this.inFlight) return;
    this.inFlight = true;
    this.write(this.procsFile, String(this.pid))
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = false;
      });
  }
}
