// The values a fuzz request is made of: strings that break paths, argv, CNI_ARGS, logs and
// parsers; numbers at and beyond every bound; wrong ids. Every string that could become a
// file name carries MARK, so a file the fuzz makes outside berth's dirs can be found by name.
import type { Prng } from "./prng.js";

export const MARK = "fzq";

const HUGE = "H".repeat(1 << 20);
const BIG = `${MARK}-${"b".repeat(100 * 1024)}`;

export const HOSTILE_STRINGS: readonly string[] = [
  "",
  HUGE,
  BIG,
  `${MARK}\0nul`,
  `\0`,
  `${MARK}-pöd-✓-日本`,
  `${MARK}\u202e-rtl`,
  "\ud800",
  `../../../${MARK}-escape`,
  `/../../${MARK}-abs`,
  ".",
  "..",
  "/",
  "//",
  `${MARK}-rel`,
  `${MARK} with spaces`,
  `${MARK}\nnewline`,
  `${MARK};K=V=`,
  "%s%n%x",
  "-rf",
  "--help",
  `${MARK}\u0001\u007f`,
  "99999999999999999999999",
  "-1",
  `${MARK}-${"s".repeat(300)}`,
  `${MARK}.slice`,
  `/${MARK}/a//b/`,
];

export const HOSTILE_INT32: readonly number[] = [
  0, -1, 1, 10, 1000, 65535, 65536, 99999, 262145, 2147483647, -2147483648,
];

export const HOSTILE_INT64: readonly string[] = [
  "0",
  "-1",
  "1",
  "10",
  "1000",
  "100000",
  "262145",
  "9223372036854775807",
  "-9223372036854775808",
  "12582912",
];

export const BAD_ENUMS: readonly number[] = [0, 1, 2, 3, 7, 99, -1, 2147483647];

export function hostileString(rng: Prng, ids: readonly string[]): string {
  // Real ids (and their prefixes) now and then, so lookups succeed and deeper code runs.
  if (ids.length > 0 && rng.chance(0.2)) {
    const id = rng.pick(ids);
    return rng.chance(0.5) ? id : id.slice(0, 1 + rng.int(id.length));
  }
  return rng.pick(HOSTILE_STRINGS);
}

/** How many 1 MB strings a request holds (a request over 16 MiB only tests grpc-js). */
export function hugeCount(value: unknown): number {
  if (typeof value === "string") return value.length >= 1 << 20 ? 1 : 0;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + hugeCount(v), 0);
  if (typeof value === "object" && value !== null && !Buffer.isBuffer(value)) {
    let n = 0;
    for (const [k, v] of Object.entries(value)) n += hugeCount(k) + hugeCount(v);
    return n;
  }
  return 0;
}
