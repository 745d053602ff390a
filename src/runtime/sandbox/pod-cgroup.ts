// A pod's cgroup: the parent kubelet gave, or `/berth/<id>`, which berth makes for a pod without
// an infra (nothing else would) and removes with the pod. A parent kubelet gave is kubelet's.
import type { PodSandboxConfig__Output } from "../../gen/runtime/v1/PodSandboxConfig.js";
import { podCgroupsPath } from "../../cgroup/cgroup-paths.js";
import { removeCgroupPath } from "../../cgroup/remove.js";
import type { BerthConfig } from "../../config/config.js";
import type { Logger } from "../../log.js";

type Driver = BerthConfig["cgroup_driver"];

/** The pod cgroup berth makes for a pod kubelet gave no cgroup_parent. */
export function defaultPodCgroupParent(id: string): string {
  return `/berth/${id}`;
}

/** The cgroup path of a sandbox's pod (cgroupfs form), whatever kubelet gave. */
export function podCgroupParent(config: PodSandboxConfig__Output, id: string): string {
  const parent = config.linux?.cgroup_parent ?? "";
  return parent !== "" ? parent : defaultPodCgroupParent(id);
}

/** Whether berth makes (and removes) the pod's parent: its default one, under cgroupfs. */
export function berthOwnsPodCgroup(driver: Driver, parent: string, id: string): boolean {
  return driver !== "systemd" && parent === defaultPodCgroupParent(id);
}

/**
 * Removes the infra container's cgroup and, when berth made the pod's parent itself, that parent
 * too; a parent kubelet owns stays. runc leaves parents behind.
 */
export async function removePodCgroups(
  driver: Driver,
  parent: string,
  id: string,
  log: Logger,
): Promise<void> {
  if (driver === "systemd") return; // the runtime removes scopes
  const failed = await removeCgroupPath(podCgroupsPath(driver, parent, id), undefined, 1);
  if (berthOwnsPodCgroup(driver, parent, id)) {
    failed.push(...(await removeCgroupPath(parent, undefined, 1)));
  }
  if (failed.length > 0) log.warn({ pod_sandbox_id: id, failed }, "pod cgroups left");
}
