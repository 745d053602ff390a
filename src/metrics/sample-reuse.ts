// A cached sample seen through the current set of pods and containers. The sampler reuses its
// readings for up to a second, but the set of pods and containers always comes from the records
// at the time of the call: a container started a moment ago is listed (and read), one removed a
// moment ago is not. Pure over plain data.
import type {
  ContainerSample,
  ContainerTarget,
  LayerUsage,
  NodeSample,
  PodSample,
  PodTarget,
} from "./stats-sample.js";

/** Whether a sampling pass reads this container's cgroup. */
export function containerReadable(pod: PodTarget, c: ContainerTarget): boolean {
  return pod.ready && c.running && c.cgroupPath !== undefined;
}

export interface ReusedSample {
  sample: NodeSample;
  /**
   * Targets the base pass never tried to read that are readable now (a pod that became ready,
   * a container that started): the base has no readings for them, so a new pass is due.
   */
  unread: number;
}

function reuseContainer(
  pod: PodTarget,
  target: ContainerTarget,
  base: { pod: PodTarget; sample: ContainerSample } | undefined,
  layer: LayerUsage | undefined,
): { sample: ContainerSample; unread: boolean } {
  const out: ContainerSample = { target };
  if (layer !== undefined) out.layer = layer;
  if (!containerReadable(pod, target)) return { sample: out, unread: false };
  const b = base?.sample;
  if (
    base === undefined ||
    b === undefined ||
    !containerReadable(base.pod, b.target) ||
    b.target.cgroupPath !== target.cgroupPath
  ) {
    return { sample: out, unread: true };
  }
  // The base pass read this cgroup (whether or not it was still there): its readings stand.
  if (b.cgroup !== undefined) out.cgroup = b.cgroup;
  if (b.processes !== undefined) out.processes = b.processes;
  if (b.nanoCores !== undefined) out.nanoCores = b.nanoCores;
  return { sample: out, unread: false };
}

/**
 * `base`'s readings laid over `targets`: one entry per pod and container of `targets` (fresh
 * attributes and states), with the readings the base took of the same cgroups. Containers no
 * longer running, or pods no longer ready, lose their readings as a new pass would drop them.
 */
export function reuseSample(
  base: NodeSample,
  targets: readonly PodTarget[],
  layers?: { get(id: string): LayerUsage | undefined },
): ReusedSample {
  const basePods = new Map(base.pods.map((p) => [p.target.id, p]));
  const baseContainers = new Map<string, { pod: PodTarget; sample: ContainerSample }>();
  for (const p of base.pods)
    for (const c of p.containers) baseContainers.set(c.target.id, { pod: p.target, sample: c });
  let unread = 0;
  const pods = targets.map((target): PodSample => {
    const containers = target.containers.map((c) => {
      const r = reuseContainer(target, c, baseContainers.get(c.id), layers?.get(c.id));
      if (r.unread) unread++;
      return r.sample;
    });
    const out: PodSample = { target, containers };
    if (!target.ready) return out;
    const b = basePods.get(target.id);
    if (b === undefined || !b.target.ready || b.target.cgroupPath !== target.cgroupPath) {
      unread++;
      return out;
    }
    if (b.cgroup !== undefined) out.cgroup = b.cgroup;
    if (b.processes !== undefined) out.processes = b.processes;
    if (b.network !== undefined) out.network = b.network;
    if (b.nanoCores !== undefined) out.nanoCores = b.nanoCores;
    return out;
  });
  return { sample: { atNs: base.atNs, pods }, unread };
}
