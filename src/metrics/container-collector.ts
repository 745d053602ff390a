// The per-container Prometheus source: at scrape time it takes (or reuses) a sample and writes
// cAdvisor-named series for every ready pod (container="", the pod cgroup) and every running
// container. Generation is stateless: a removed container simply has no series next time.
import type { MetricsSource } from "./http-server.js";
import type { BlockDeviceNames } from "./block-devices.js";
import { BASE_LABELS, CONTAINER_FAMILIES, type SeriesInput } from "./container-families.js";
import { labelPairs, renderFamilies, type RenderedOwner } from "./exposition.js";
import type { NodeSample } from "./stats-sample.js";

export interface SeriesOwner {
  podId: string;
  /** Undefined for the pod-level owner. */
  containerId?: string;
  /** Values of BASE_LABELS, in order. */
  base: string[];
  input: SeriesInput;
}

export interface OwnerEnv {
  fsDevice: string;
  blockDevice: (major: number, minor: number) => string;
}

/** Every pod and container of a sample that has a cgroup reading, with its base labels. */
export function seriesOwners(sample: NodeSample, env: OwnerEnv): SeriesOwner[] {
  const out: SeriesOwner[] = [];
  for (const pod of sample.pods) {
    const t = pod.target;
    if (pod.cgroup !== undefined) {
      const input: SeriesInput = {
        level: "pod",
        stats: pod.cgroup,
        startNs: t.createdAtNs,
        seenNs: sample.atNs,
        ...env,
      };
      if (pod.processes !== undefined) input.processes = pod.processes;
      if (pod.network !== undefined) input.network = pod.network;
      // container, id, image, name, namespace, pod
      out.push({ podId: t.id, base: ["", t.cgroupPath ?? "", "", "", t.namespace, t.name], input });
    }
    for (const c of pod.containers) {
      if (c.cgroup === undefined) continue;
      const ct = c.target;
      const input: SeriesInput = {
        level: "container",
        stats: c.cgroup,
        startNs: ct.startedAtNs > 0n ? ct.startedAtNs : ct.createdAtNs,
        seenNs: sample.atNs,
        ...env,
      };
      if (c.processes !== undefined) input.processes = c.processes;
      if (c.layer !== undefined) input.layer = c.layer;
      out.push({
        podId: t.id,
        containerId: ct.id,
        base: [ct.name, ct.cgroupPath ?? "", ct.image, ct.id, t.namespace, t.name],
        input,
      });
    }
  }
  return out;
}

export function renderSample(sample: NodeSample, env: OwnerEnv): string {
  const owners: RenderedOwner[] = seriesOwners(sample, env).map((o) => ({
    labels: labelPairs(BASE_LABELS, o.base),
    input: o.input,
  }));
  return renderFamilies(CONTAINER_FAMILIES, owners);
}

export interface CollectorDeps {
  sample: () => Promise<NodeSample>;
  devices: BlockDeviceNames;
  /** The device label of the writable layers' file system, looked up once. */
  fsDevice: () => Promise<string>;
}

export class ContainerMetricsCollector implements MetricsSource {
  private fsDevice: Promise<string> | undefined;

  constructor(private readonly deps: CollectorDeps) {}

  /** Device names for a sample's series (block devices resolved, layer fs looked up once). */
  async ownerEnv(sample: NodeSample): Promise<OwnerEnv> {
    this.fsDevice ??= this.deps.fsDevice().catch(() => "");
    const devices = sample.pods
      .flatMap((p) => [p.cgroup, ...p.containers.map((c) => c.cgroup)])
      .flatMap((s) => s?.io ?? []);
    const [fsDevice] = await Promise.all([this.fsDevice, this.deps.devices.resolve(devices)]);
    return { fsDevice, blockDevice: (major, minor) => this.deps.devices.name(major, minor) };
  }

  async metrics(): Promise<string> {
    const sample = await this.deps.sample();
    return renderSample(sample, await this.ownerEnv(sample));
  }
}
