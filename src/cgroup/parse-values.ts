// Pure parsers for the value formats cgroup files share: a single integer, "max", and flat
// "key value" lists (memory.stat, cpu.stat, memory.events, memory.oom_control, cpuacct.stat).
// Malformed input yields undefined or skipped lines, never a throw: the kernel's format is
// trusted, but a half-written fixture or a future kernel must not take a scrape down.

const UNSIGNED = /^\d+$/;
const SIGNED = /^-?\d+$/;

/**
 * cgroup v1 prints "no limit" as PAGE_COUNTER_MAX × PAGE_SIZE, i.e. LONG_MAX rounded down to
 * the page size (9223372036854771712 with 4 KiB pages). Anything at or above LONG_MAX rounded
 * down to 1 MiB covers every page size Linux has.
 */
export const V1_UNLIMITED_THRESHOLD = (1n << 63n) - (1n << 20n);

/** "123\n" → 123n; undefined for anything else (including negative numbers). */
export function parseUnsigned(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  return UNSIGNED.test(t) ? BigInt(t) : undefined;
}

/** "-1\n" → -1; undefined for non-integers or values beyond a safe JS number. */
export function parseSmallInt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!SIGNED.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A v1 limit file (memory.limit_in_bytes, memory.memsw.limit_in_bytes): unlimited → undefined. */
export function parseV1Limit(text: string | undefined): bigint | undefined {
  const v = parseUnsigned(text);
  return v === undefined || v >= V1_UNLIMITED_THRESHOLD ? undefined : v;
}

export type MaxOr<T> = { kind: "max" } | { kind: "value"; value: T } | undefined;

/** A v2 limit file ("max" or a number): memory.max, memory.swap.max, pids.max. */
export function parseMaxOrUnsigned(text: string | undefined): MaxOr<bigint> {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === "max") return { kind: "max" };
  const v = parseUnsigned(t);
  return v === undefined ? undefined : { kind: "value", value: v };
}

/** The limit as an optional value: "max" and unreadable both → undefined. */
export function limitValue(parsed: MaxOr<bigint>): bigint | undefined {
  return parsed?.kind === "value" ? parsed.value : undefined;
}

/** "key value" lines → map; lines that do not fit are skipped. */
export function parseFlatKeyed(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  if (text === undefined) return out;
  for (const line of text.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp <= 0) continue;
    const value = line.slice(sp + 1).trim();
    if (UNSIGNED.test(value)) out.set(line.slice(0, sp), BigInt(value));
  }
  return out;
}

/** Whitespace-separated unsigned integers (cpuacct.usage_percpu). */
export function parseUnsignedList(text: string | undefined): bigint[] | undefined {
  if (text === undefined) return undefined;
  const out: bigint[] = [];
  for (const word of text.trim().split(/\s+/)) {
    if (word === "") continue;
    if (!UNSIGNED.test(word)) return undefined;
    out.push(BigInt(word));
  }
  return out;
}

/** A bigint as a number when it is a safe integer (pid counts, shares); else undefined. */
export function toSafeNumber(v: bigint | undefined): number | undefined {
  if (v === undefined) return undefined;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

export function maxBigint(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
