// The benchmark's teardown, on success, failure or a signal: every pod removed through its own
// runtime, both daemons stopped by PID, then a sweep of whatever a daemon could not tidy itself.
import { promises as fs } from "node:fs";
import type { Berthd } from "../../test/support/berthd.js";
import type { TestRegistry } from "../../test/support/registry/registry-server.js";
import type { ContainerdDaemon } from "./containerd-daemon.js";
import {
  deleteBridge,
  deleteIptablesRules,
  killLeftovers,
  removeCgroupTree,
  removeShimSockets,
  SHIM_SOCKET_DIR,
  unmountUnder,
} from "./host-cleanup.js";
import type { Side } from "./phases.js";
import type { ProcInfo } from "./processes.js";

export interface Env {
  benchDir: string;
  cgroupRoot: string;
  registry?: TestRegistry;
  berthd?: Berthd;
  containerd?: ContainerdDaemon;
  sides: Side[];
  runDirExisted: boolean;
  /** Gives hugetlb back to cgroup2 when the run moved it for crun. */
  restoreHugetlb?: () => Promise<void>;
}

/** Removes every pod through each daemon, stops both by PID, then sweeps what may be left. */
export async function teardown(env: Env): Promise<void> {
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup: ${what}: ${String(err)}`);
    }
  };
  for (const s of env.sides) {
    await step(`${s.name}: remove pods`, async () => {
      try {
        await s.crictl.removeAllPods();
      } catch (err) {
        // A Ctrl-C at the terminal also reaches berthd (same process group): once it is down,
        // start it again so that it removes its pods itself.
        if (!s.restart) throw err;
        await s.restart();
        await s.crictl.removeAllPods();
      }
    });
  }
  await step("stop berthd", async () => env.berthd?.stop());
  await step("stop containerd", async () => env.containerd?.stop());
  const dirs = [env.berthd?.dir, env.benchDir].filter((d): d is string => d !== undefined);
  const killed: ProcInfo[] = [];
  for (const d of dirs) {
    await step(`processes in ${d}`, async () => {
      const left = await killLeftovers(d);
      killed.push(...left);
      if (left.length > 0) {
        console.error(`cleanup: killed ${left.length} leftover processes of ${d}`);
      }
    });
    await step(`mounts under ${d}`, async () => {
      const n = await unmountUnder(d);
      if (n > 0) console.error(`cleanup: unmounted ${n} leftover mounts under ${d}`);
    });
  }
  for (const s of env.sides)
    await step(`bridge ${s.net.bridge}`, async () => deleteBridge(s.net.bridge));
  await step("iptables", async () => {
    const n = deleteIptablesRules(env.sides.flatMap((s) => [s.net.subnet, s.net.bridge]));
    if (n > 0) console.error(`cleanup: removed ${n} iptables rules`);
  });
  await step("cgroups", () => removeCgroupTree(env.cgroupRoot));
  await step("shim sockets", async () => {
    const n = await removeShimSockets(killed, env.runDirExisted);
    if (n > 0) console.error(`cleanup: removed ${n} shim sockets left in ${SHIM_SOCKET_DIR}`);
  });
  await step("berthd dir", async () => env.berthd?.cleanup());
  await step("registry", async () => env.registry?.stop());
  await step("temp dir", () => fs.rm(env.benchDir, { recursive: true, force: true }));
  await step("hugetlb", async () => env.restoreHugetlb?.());
}
