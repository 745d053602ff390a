// UpdateContainerResources carries only what changes: kubelet (and `crictl update --cpu-share
// 512`) leaves every other field at its zero value, which CRI defines as "not set". containerd
// builds the new spec by laying the non-zero fields over the container's current ones
// (opts.WithResources); berth does the same, so a partial update keeps the earlier limits.
import type { LinuxContainerResources__Output } from "../../gen/runtime/v1/LinuxContainerResources.js";

const NUMERIC = [
  "cpu_period",
  "cpu_quota",
  "cpu_shares",
  "memory_limit_in_bytes",
  "oom_score_adj",
  "memory_swap_limit_in_bytes",
] as const;
const TEXT = ["cpuset_cpus", "cpuset_mems"] as const;

export function emptyResources(): LinuxContainerResources__Output {
  return {
    cpu_period: "0",
    cpu_quota: "0",
    cpu_shares: "0",
    memory_limit_in_bytes: "0",
    oom_score_adj: "0",
    cpuset_cpus: "",
    cpuset_mems: "",
    hugepage_limits: [],
    unified: {},
    memory_swap_limit_in_bytes: "0",
  };
}

/** `current` with every field `update` sets (non-zero, non-empty) replaced. */
export function mergeResources(
  current: LinuxContainerResources__Output | null,
  update: LinuxContainerResources__Output,
): LinuxContainerResources__Output {
  const out: LinuxContainerResources__Output = { ...emptyResources(), ...(current ?? {}) };
  for (const k of NUMERIC) if (update[k] !== "0" && update[k] !== "") out[k] = update[k];
  for (const k of TEXT) if (update[k] !== "") out[k] = update[k];
  if (update.hugepage_limits.length > 0) out.hugepage_limits = update.hugepage_limits;
  if (Object.keys(update.unified).length > 0) out.unified = { ...out.unified, ...update.unified };
  return out;
}
