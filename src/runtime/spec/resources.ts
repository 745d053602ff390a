// cgroup resources from CRI LinuxContainerResources, shared by CreateContainer and
// UpdateContainerResources, and the oom_score_adj clamp.
import { InvalidArgumentError } from "../../errors.js";
import type { LinuxContainerResources__Output } from "../../gen/runtime/v1/LinuxContainerResources.js";
import type { OciLinuxResources } from "./oci-types.js";

/**
 * An int64 decimal string as a JS number for config.json. Values beyond 2^53 cannot be written
 * exactly, and no real limit is that large, so they are rejected rather than rounded.
 */
function int64(value: string, field: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(field, `"${value}" is not an integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(field, `${value} is out of range`);
  return n;
}

/** Hugepage sizes as the kernel's hugetlb files name them: 2MB, 1GB, 64KB. */
const PAGE_SIZE = /^\d+(KB|MB|GB|TB|PB)$/;

/**
 * The linux.resources for a container (without device rules). Zero means "not set" for every
 * CRI field, as kubelet sends it. `field` is the CRI path of the message for errors.
 */
export function resourcesToOci(
  r: LinuxContainerResources__Output,
  field = "config.linux.resources",
): OciLinuxResources {
  const out: OciLinuxResources = {};
  const cpu: NonNullable<OciLinuxResources["cpu"]> = {};
  const shares = int64(r.cpu_shares, `${field}.cpu_shares`);
  const quota = int64(r.cpu_quota, `${field}.cpu_quota`);
  const period = int64(r.cpu_period, `${field}.cpu_period`);
  if (shares < 0) throw new InvalidArgumentError(`${field}.cpu_shares`, "must not be negative");
  if (period < 0) throw new InvalidArgumentError(`${field}.cpu_period`, "must not be negative");
  if (shares > 0) cpu.shares = shares;
  if (quota !== 0) cpu.quota = quota;
  if (period > 0) cpu.period = period;
  if (r.cpuset_cpus !== "") cpu.cpus = r.cpuset_cpus;
  if (r.cpuset_mems !== "") cpu.mems = r.cpuset_mems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  const memory: NonNullable<OciLinuxResources["memory"]> = {};
  const limit = int64(r.memory_limit_in_bytes, `${field}.memory_limit_in_bytes`);
  const swap = int64(r.memory_swap_limit_in_bytes, `${field}.memory_swap_limit_in_bytes`);
  if (limit < 0) {
    throw new InvalidArgumentError(`${field}.memory_limit_in_bytes`, "must not be negative");
  }
  if (limit > 0) memory.limit = limit;
  // CRI's swap limit is memory + swap (cgroup v1's memsw), which is also what OCI's swap means;
  // -1 is "unlimited swap".
  if (swap > 0 || swap === -1) memory.swap = swap;
  if (Object.keys(memory).length > 0) out.memory = memory;

  if (r.hugepage_limits.length > 0) {
    out.hugepageLimits = r.hugepage_limits.map((h, i) => {
      if (!PAGE_SIZE.test(h.page_size)) {
        throw new InvalidArgumentError(
          `${field}.hugepage_limits[${i}].page_size`,
          `"${h.page_size}" is not a page size like 2MB`,
        );
      }
      return {
        pageSize: h.page_size,
        limit: int64(h.limit, `${field}.hugepage_limits[${i}].limit`),
      };
    });
  }
  // Passed through for cgroup v2 hosts; runc refuses a non-empty map on cgroup v1.
  if (Object.keys(r.unified).length > 0) out.unified = { ...r.unified };
  return out;
}

/** CRI-format oom_score_adj, bounded by what berth may set. */
export function clampOomScoreAdj(
  requested: number,
  min: number,
  field: string,
  warnings: string[],
): number {
  if (requested < -1000 || requested > 1000) {
    throw new InvalidArgumentError(field, `${requested} is outside -1000..1000`);
  }
  if (requested < min) {
    warnings.push(
      `${field}: oom_score_adj ${requested} raised to ${min}, the lowest berth may set`,
    );
    return min;
  }
  return requested;
}

/** oom_score_adj of a container's resources (0 when unset). */
export function containerOomScoreAdj(
  r: LinuxContainerResources__Output | null,
  min: number,
  field: string,
  warnings: string[],
): number {
  const requested = r === null ? 0 : int64(r.oom_score_adj, `${field}.oom_score_adj`);
  return clampOomScoreAdj(requested, min, `${field}.oom_score_adj`, warnings);
}
