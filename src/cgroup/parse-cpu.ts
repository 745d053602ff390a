// Pure parsers for CPU accounting and CFS settings, v1 and v2.

/** Per-CPU user and system time from v1 cpuacct.usage_all (kernel ≥ 4.7), in ns. */
export interface PerCpuUsage {
  userNs: bigint;
  systemNs: bigint;
}

/**
 * cpuacct.usage_all: a header "cpu user system", then "<cpu> <user ns> <system ns>" per CPU.
 * One read gives total, user, system and per-CPU usage, consistent with one another.
 */
export function parseCpuacctUsageAll(text: string | undefined): PerCpuUsage[] | undefined {
  if (text === undefined) return undefined;
  const lines = text.split("\n");
  if (!lines[0]?.startsWith("cpu")) return undefined;
  const out: PerCpuUsage[] = [];
  for (const line of lines.slice(1)) {
    const m = /^(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m === null) continue;
    out[Number(m[1])] = { userNs: BigInt(m[2] ?? "0"), systemNs: BigInt(m[3] ?? "0") };
  }
  // CPUs missing from the listing (offline) read as zero, so indexes stay CPU numbers.
  for (let i = 0; i < out.length; i++) out[i] ??= { userNs: 0n, systemNs: 0n };
  return out;
}

/**
 * USER_HZ, the unit of cpuacct.stat: 100 on every architecture's user ABI. Only used on kernels
 * older than 4.7, which lack cpuacct.usage_all.
 */
export const NS_PER_USER_HZ_TICK = 10_000_000n;

/** v2 cpu.weight (1..10000) → v1 shares (2..262144), inverting the KEP-2254 mapping as cAdvisor does. */
export function cpuWeightToShares(weight: number): number | undefined {
  if (!Number.isInteger(weight) || weight < 1 || weight > 10000) return undefined;
  return 2 + Math.floor(((weight - 1) * 262142) / 9999);
}

/** v1 shares → v2 weight, as runc and kubelet map them (KEP-2254); 0 (unset) stays 0. */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  const clamped = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((clamped - 2) * 9999) / 262142);
}

/** v2 cpu.max: "<quota|max> <period>" → quota −1 when unlimited. */
export function parseCpuMax(
  text: string | undefined,
): { quota: number; period: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^(max|\d+)\s+(\d+)\s*$/.exec(text.trim());
  if (m === null) return undefined;
  const period = Number(m[2]);
  return { quota: m[1] === "max" ? -1 : Number(m[1]), period };
}
