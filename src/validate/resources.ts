// The one check of LinuxContainerResources, for CreateContainer, UpdateContainerResources and
// RunPodSandbox's overhead/resources: ranges the kernel and runc accept, so a bad value is
// INVALID_ARGUMENT naming the field before anything is written, never a runc failure (or a
// half-applied update) after. Zero means "not set" for every field, as kubelet sends it.
import { InvalidArgumentError } from "../errors.js";
import type { LinuxContainerResources__Output } from "../gen/runtime/v1/LinuxContainerResources.js";
import { checkString, quote } from "./text.js";

/** The kernel's bounds on cpu.shares (cgroup v1; v2's weight is derived from it). */
export const CPU_SHARES_MIN = 2;
export const CPU_SHARES_MAX = 262144;
/** cfs_period_us: 1 ms .. 1 s. */
export const CPU_PERIOD_MIN = 1000;
export const CPU_PERIOD_MAX = 1_000_000;
/** cfs_quota_us: at least 1 ms, or -1 for none. */
export const CPU_QUOTA_MIN = 1000;
/** CRI-O's floor: below this neither conmon nor the container's first process fits. */
export const MEMORY_MIN = 12 * 1024 * 1024;
const MAX_CPUSET_CHARS = 1024;
/** CONFIG_NR_CPUS / MAX_NUMNODES can not exceed this on any kernel berth runs on. */
const MAX_CPU_INDEX = 8191;
const PAGE_SIZE = /^\d{1,8}(KB|MB|GB|TB|PB)$/;
/** cgroup v2 interface files: `<controller>.<name>`, never a path. */
const UNIFIED_KEY = /^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/;

export interface ResourceHost {
  /** True on a pure cgroup v2 host: the only setup where `unified` can be applied. */
  cgroupUnified?: boolean;
  /** The host's online CPUs and memory nodes ("0-3,5"); a cpuset naming others is refused. */
  onlineCpus?: string;
  onlineMems?: string;
}

function int64(field: string, value: string): number {
  if (!/^-?\d{1,19}$/.test(value)) {
    throw new InvalidArgumentError(field, `${quote(value)} is not an integer`);
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(field, `${value} is out of range`);
  return n;
}

function range(field: string, n: number, min: number, max: number): void {
  if (n !== 0 && (n < min || n > max)) {
    throw new InvalidArgumentError(field, `${n} is outside ${min}..${max} (0 leaves it unset)`);
  }
}

/** The ranges of a `0-3,5,7-8` list (cpuset.cpus / cpuset.mems), or undefined when malformed. */
function parseCpuList(value: string): [number, number][] | undefined {
  const out: [number, number][] = [];
  for (const part of value.split(",")) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    if (!m || lo > hi || hi > MAX_CPU_INDEX) return undefined;
    out.push([lo, hi]);
  }
  return out;
}

/**
 * A cpuset list, naming only CPUs (or memory nodes) in `online` when that is known: the
 * kernel refuses others, and runc then fails half-way through an update.
 */
export function checkCpuset(field: string, value: string, online?: string): void {
  if (value === "") return;
  checkString(field, value, MAX_CPUSET_CHARS);
  const ranges = parseCpuList(value);
  if (!ranges) throw new InvalidArgumentError(field, `${quote(value)} is not a list like "0-3,5"`);
  const avail = online !== undefined ? parseCpuList(online) : undefined;
  if (!avail) return;
  for (const [lo, hi] of ranges) {
    for (let n = lo; n <= hi; n++) {
      if (!avail.some(([a, b]) => n >= a && n <= b)) {
        throw new InvalidArgumentError(
          field,
          `${n} is not online on this host (online: ${online})`,
        );
      }
    }
  }
}

export function validateResources(
  r: LinuxContainerResources__Output,
  field: string,
  host: ResourceHost,
): void {
  range(
    `${field}.cpu_shares`,
    int64(`${field}.cpu_shares`, r.cpu_shares),
    CPU_SHARES_MIN,
    CPU_SHARES_MAX,
  );
  range(
    `${field}.cpu_period`,
    int64(`${field}.cpu_period`, r.cpu_period),
    CPU_PERIOD_MIN,
    CPU_PERIOD_MAX,
  );
  const quota = int64(`${field}.cpu_quota`, r.cpu_quota);
  if (quota !== -1) range(`${field}.cpu_quota`, quota, CPU_QUOTA_MIN, Number.MAX_SAFE_INTEGER);

  const limit = int64(`${field}.memory_limit_in_bytes`, r.memory_limit_in_bytes);
  range(`${field}.memory_limit_in_bytes`, limit, MEMORY_MIN, Number.MAX_SAFE_INTEGER);
  const swap = int64(`${field}.memory_swap_limit_in_bytes`, r.memory_swap_limit_in_bytes);
  if (swap !== 0 && swap !== -1) {
    // CRI's swap limit is memory + swap (v1's memsw): it cannot be below the memory limit.
    if (swap < 0) {
      throw new InvalidArgumentError(
        `${field}.memory_swap_limit_in_bytes`,
        "must be -1, 0 or positive",
      );
    }
    if (limit > 0 && swap < limit) {
      throw new InvalidArgumentError(
        `${field}.memory_swap_limit_in_bytes`,
        `${swap} is below memory_limit_in_bytes ${limit} (it counts memory plus swap)`,
      );
    }
  }
  const oom = int64(`${field}.oom_score_adj`, r.oom_score_adj);
  if (oom < -1000 || oom > 1000) {
    throw new InvalidArgumentError(`${field}.oom_score_adj`, `${oom} is outside -1000..1000`);
  }
  checkCpuset(`${field}.cpuset_cpus`, r.cpuset_cpus, host.onlineCpus);
  checkCpuset(`${field}.cpuset_mems`, r.cpuset_mems, host.onlineMems);

  if (r.hugepage_limits.length > 16) {
    throw new InvalidArgumentError(`${field}.hugepage_limits`, "more than 16 page sizes");
  }
  for (const [i, h] of r.hugepage_limits.entries()) {
    const f = `${field}.hugepage_limits[${i}]`;
    if (!PAGE_SIZE.test(h.page_size)) {
      throw new InvalidArgumentError(
        `${f}.page_size`,
        `${quote(h.page_size)} is not a page size like 2MB`,
      );
    }
    if (int64(`${f}.limit`, h.limit) < 0) {
      throw new InvalidArgumentError(`${f}.limit`, "must not be negative");
    }
  }

  const unified = Object.entries(r.unified);
  if (unified.length > 0 && host.cgroupUnified !== true) {
    throw new InvalidArgumentError(
      `${field}.unified`,
      "is only for cgroup v2 hosts; this host uses cgroup v1",
    );
  }
  if (unified.length > 64)
    throw new InvalidArgumentError(`${field}.unified`, "more than 64 entries");
  for (const [k, v] of unified) {
    if (!UNIFIED_KEY.test(k) || k.length > 64) {
      throw new InvalidArgumentError(
        `${field}.unified`,
        `key ${quote(k)} is not a cgroup v2 file name`,
      );
    }
    checkString(`${field}.unified[${quote(k)}]`, v, 4096);
  }
}
