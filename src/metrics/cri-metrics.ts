// The CRI's own metrics (KEP-2371: ListMetricDescriptors, ListPodSandboxMetrics): the same
// families as /metrics, label keys = BASE_LABELS + the family's extra labels, so kubelet's
// /metrics/cadvisor built from them matches berth's /metrics. The proto carries values as
// UInt64Value: seconds-valued counters are truncated to whole seconds (as CRI-O does) and
// negative values are left out.
import type { Metric } from "../gen/runtime/v1/Metric.js";
import type { MetricDescriptor } from "../gen/runtime/v1/MetricDescriptor.js";
import type { PodSandboxMetrics } from "../gen/runtime/v1/PodSandboxMetrics.js";
import { BASE_LABELS, CONTAINER_FAMILIES, type Family } from "./container-families.js";
import { seriesOwners, type OwnerEnv, type SeriesOwner } from "./container-collector.js";
import type { NodeSample } from "./stats-sample.js";

export function metricDescriptors(
  families: readonly Family[] = CONTAINER_FAMILIES,
): MetricDescriptor[] {
  return families.map((f) => ({
    name: f.name,
    help: f.help,
    label_keys: [...BASE_LABELS, ...f.extraLabels],
  }));
}

function ownerMetrics(
  owner: SeriesOwner,
  timestamp: string,
  families: readonly Family[],
): Metric[] {
  const out: Metric[] = [];
  for (const f of families) {
    for (const v of f.values(owner.input)) {
      const whole = v.value.n / v.value.scale;
      if (whole < 0n) continue;
      out.push({
        name: f.name,
        timestamp,
        metric_type: f.kind === "counter" ? "COUNTER" : "GAUGE",
        label_values: [...owner.base, ...v.labels],
        value: { value: whole.toString() },
      });
    }
  }
  return out;
}

/** One entry per pod of the sample: its pod-level metrics and each running container's. */
export function podSandboxMetrics(
  sample: NodeSample,
  env: OwnerEnv,
  families: readonly Family[] = CONTAINER_FAMILIES,
): PodSandboxMetrics[] {
  const timestamp = sample.atNs.toString();
  const byPod = new Map<string, PodSandboxMetrics>();
  for (const pod of sample.pods) {
    byPod.set(pod.target.id, { pod_sandbox_id: pod.target.id, metrics: [], container_metrics: [] });
  }
  for (const owner of seriesOwners(sample, env)) {
    const entry = byPod.get(owner.podId);
    if (entry === undefined) continue;
    const metrics = ownerMetrics(owner, timestamp, families);
    if (owner.containerId === undefined) entry.metrics = metrics;
    else entry.container_metrics?.push({ container_id: owner.containerId, metrics });
  }
  return [...byPod.values()];
}
