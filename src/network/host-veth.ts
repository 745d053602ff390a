// The host end of a pod's veth, from its CNI result: a pod without an infra process has no
// process whose /proc/<pid>/net/dev shows its netns while none of its containers runs, but the
// host end of its veth counts the same traffic, mirrored (what the pod sends, it receives).
import { promises as fs } from "node:fs";
import * as path from "node:path";
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
