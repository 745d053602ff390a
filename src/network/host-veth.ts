// The host end of a pod's veth, from its CNI result: a pod without an infra process has no
// process whose /proc/<pid>/net/dev shows its netns while none of its containers runs, but the
// host end of its veth counts the same traffic, mirrored (what the pod sends, it receives). At
// StopPodSandbox, a host end that outlives its released netns is deleted.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { InternalError } from "../errors.js";
import type { CommandRunner } from "../util/command.js";
import type { CniInterface } from "./cni-result.js";

export interface HostVeth {
  /** The host-side interface (e.g. veth1a2b3c4d). */
  host: string;
  /** The pod's interface the host end is paired with (e.g. eth0). */
  pod: string;
}

async function readNumber(file: string): Promise<number | undefined> {
  try {
    const n = Number((await fs.readFile(file, "utf8")).trim());
    return Number.isSafeInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The host end of the pod's veth: of the result's host-side interfaces (no `sandbox`), the one
 * that is paired with a peer (its iflink is not its own ifindex, which a bridge's is). Undefined
 * unless there is exactly one such interface and exactly one pod-side interface: anything else
 * (ipvlan, several networks) is not a single veth this reading can stand for.
 */
export async function hostVethOf(
  interfaces: readonly CniInterface[],
  sysClassNet = "/sys/class/net",
): Promise<HostVeth | undefined> {
  const inPod = interfaces.filter((i) => i.sandbox !== undefined && i.sandbox !== "");
  if (inPod.length !== 1) return undefined;
  const paired: string[] = [];
  for (const i of interfaces) {
    if (i.sandbox !== undefined && i.sandbox !== "") continue;
    if (i.name === "" || i.name.includes("/") || i.name.startsWith(".")) continue;
    const [index, link] = await Promise.all([
      readNumber(path.join(sysClassNet, i.name, "ifindex")),
      readNumber(path.join(sysClassNet, i.name, "iflink")),
    ]);
    if (index !== undefined && link !== undefined && index !== link) paired.push(i.name);
  }
  return paired.length === 1 ? { host: paired[0]!, pod: inPod[0]!.name } : undefined;
}

/**
 * After CNI DEL of a pod whose netns was released first (del-without-netns.ts): the kernel drops
 * the veth with the netns, unless a process still holds the netns. The pod's address is back in
 * IPAM by then, so such a leftover host end (still on the bridge, its peer still answering for
 * the address) is deleted, which takes its peer with it. Resolves to whether one was left.
 */
export async function removeLeftoverHostVeth(
  runner: CommandRunner,
  name: string,
  sysClassNet = "/sys/class/net",
  settleMs = 20,
): Promise<boolean> {
  const present = () =>
    fs.access(path.join(sysClassNet, name)).then(
      () => true,
      () => false,
    );
  if (!(await present())) return false;
  // The kernel drops a released netns's devices from a work queue: give it a moment.
  await new Promise((r) => setTimeout(r, settleMs));
  if (!(await present())) return false;
  const res = await runner.run("ip", ["link", "delete", name], { timeoutMs: 30_000 });
  if (res.code !== 0 && (await present())) {
    throw new InternalError(
      `cannot delete the pod's leftover veth ${name}: ${res.stderr.toString("utf8").trim()}`,
    );
  }
  return true;
}
