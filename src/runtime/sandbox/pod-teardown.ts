// What StopPodSandbox releases besides the pod's processes: its containers' leftovers (through
// the container service), the pinned namespaces and shm mount, and the network.
import { removeLeftoverHostVeth } from "../../network/host-veth.js";
import { releaseMounts } from "../../network/netns.js";
import { type SandboxRecord, hasInfra } from "../records.js";
import type { SandboxDeps } from "../runtime-context.js";
import { podNetworkRequest } from "./pod-network.js";

/** What stopping and removing a pod asks of its containers (ContainerService, via the CRI layer). */
export interface PodContainers {
  /** Kills every container of the pod (timeout 0); resolves once each exit is recorded. */
  kill(sandboxId: string): Promise<void>;
  /** Releases every exited container's runtime state and rootfs mount (container-release.ts). */
  release(sandboxId: string): Promise<void>;
  /** Removes every container of the pod. */
  remove(sandboxId: string): Promise<void>;
}

/** One umount for the netns, the IPC/UTS files and the shm mount; the files go with it. */
export function releasePodMounts(ctx: Pick<SandboxDeps, "runner">, rec: SandboxRecord) {
  return releaseMounts(
    ctx.runner,
    [rec.hostNetwork ? "" : rec.netnsPath, ...Object.values(rec.nsFiles ?? {})],
    [rec.files.shm],
  );
}

/** CNI DEL (idempotent, also after a restart or when the netns is gone). */
export async function releasePodNetwork(
  ctx: Pick<SandboxDeps, "cni" | "sandboxes">,
  rec: SandboxRecord,
): Promise<void> {
  if (rec.hostNetwork || !rec.networkAttached) return;
  await ctx.cni.teardownPodNetwork(podNetworkRequest(rec.config, rec.id, rec.netnsPath));
  // The addresses went back to IPAM: a stopped pod reports none (as containerd does).
  await ctx.sandboxes.update(rec.id, (r) => {
    r.networkAttached = false;
    r.ips = [];
  });
}

/**
 * Whether the pod's network may be torn down after its namespaces (del-without-netns.ts): a pod
 * without an infra, on its own netns, whose networks' DEL needs none.
 */
export async function networkGoesWithNetns(
  ctx: Pick<SandboxDeps, "cni">,
  rec: SandboxRecord,
): Promise<boolean> {
  return !rec.hostNetwork && !hasInfra(rec) && (await ctx.cni.deletesWithoutNetns(rec.id));
}

/** The host end of the pod's veth, if it outlived the netns (a process still holds it). */
export async function removeLeftoverVeth(
  ctx: Pick<SandboxDeps, "runner" | "log">,
  rec: SandboxRecord,
): Promise<void> {
  if (rec.hostVeth === undefined) return;
  if (await removeLeftoverHostVeth(ctx.runner, rec.hostVeth.host)) {
    ctx.log.warn(
      { podSandboxId: rec.id, veth: rec.hostVeth.host },
      "the pod's netns outlived its release (a process still holds it): deleted its veth",
    );
  }
}
