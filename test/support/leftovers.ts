// Every trace an object (pod or container id) can leave on this host, for leak assertions.
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { PodEnv } from "./pod-env.js";
import { mountPoints } from "../../src/util/mountinfo.js";

/** Every trace of `id` berth or the runtime can leave on this host, as "kind: where". */
export async function leftoversOf(env: Pick<PodEnv, "berthd">, id: string): Promise<string[]> {
  const b = env.berthd;
  const found: string[] = [];
  const exists = async (p: string) =>
    fs.lstat(p).then(
      () => true,
      () => false,
    );
  for (const p of [
    path.join(b.state, "pods", id),
    path.join(b.state, "containers", id),
    path.join(b.state, "exits", id),
    path.join(b.state, "s", id),
    path.join(b.state, "netns", `berth-${id.slice(0, 16)}`),
    path.join(b.root, "overlay", id),
  ]) {
    if (await exists(p)) found.push(`file: ${p}`);
  }
  for (const h of await fs.readdir("/sys/fs/cgroup")) {
    const cg = path.join("/sys/fs/cgroup", h, "berth", id);
    if (await exists(cg)) found.push(`cgroup: ${cg}`);
  }
  for (const pid of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes(id)) found.push(`process ${pid}: ${cmd.split("\0").join(" ").slice(0, 80)}`);
  }
  const mounts = execFileSync("cat", ["/proc/self/mountinfo"], { encoding: "utf8" });
  for (const mp of mountPoints(mounts)) {
    if (mp.includes(id)) found.push(`mount: ${mp}`);
  }
  return found;
}
