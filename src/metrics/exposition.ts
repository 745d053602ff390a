// Prometheus text exposition format 0.0.4, written directly: label escaping, exact decimal
// values, and families rendered over many series owners in one pass.
import type { Family, Quantity, SeriesInput } from "./container-families.js";

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    : value;
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The fraction digits of `rem` (0 < rem < scale), trailing zeros dropped. */
function fraction(rem: string, digits: number): string {
  return `.${rem.padStart(digits, "0").replace(/0+$/, "")}`;
}

/** n / scale as an exact decimal ("1.5", "0.000000002", "42"). */
export function formatQuantity(q: Quantity): string {
  if (q.scale === 1n) return q.n.toString();
  const digits = q.scale.toString().length - 1;
  // Most values fit a double exactly: integer arithmetic on numbers is far cheaper than bigint.
  if (q.n >= 0n && q.n <= SAFE) {
    const n = Number(q.n);
    const scale = 10 ** digits;
    const whole = Math.floor(n / scale);
    let rem = n - whole * scale;
    let w = whole;
    if (rem < 0) {
      w -= 1;
      rem += scale;
    } else if (rem >= scale) {
      w += 1;
      rem -= scale;
    }
    return rem === 0 ? String(w) : `${w}${fraction(String(rem), digits)}`;
  }
  const negative = q.n < 0n;
  const abs = negative ? -q.n : q.n;
  const rem = abs % q.scale;
  const whole = `${negative ? "-" : ""}${abs / q.scale}`;
  return rem === 0n ? whole : `${whole}${fraction(rem.toString(), digits)}`;
}

/** `a="x",b="y"` for names and values taken in order. */
export function labelPairs(names: readonly string[], values: readonly string[]): string {
  let out = "";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ",";
    out += `${names[i]}="${escapeLabelValue(values[i] ?? "")}"`;
  }
  return out;
}

/** Something that owns series: its rendered base label pairs and the figures it offers. */
export interface RenderedOwner {
  /** Pre-rendered base label pairs, e.g. `container="a",id="/x",...`. */
  labels: string;
  input: SeriesInput;
}

/** All families over all owners; a family with no series is left out entirely. */
export function renderFamilies(
  families: readonly Family[],
  owners: readonly RenderedOwner[],
): string {
  let out = "";
  for (const f of families) {
    let lines = "";
    for (const o of owners) {
      const head = `${f.name}{${o.labels}`;
      for (const v of f.values(o.input)) {
        const extra = f.extraLabels.length === 0 ? "" : `,${labelPairs(f.extraLabels, v.labels)}`;
        lines += `${head}${extra}} ${formatQuantity(v.value)}\n`;
      }
    }
    if (lines === "") continue;
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.kind}\n${lines}`;
  }
  return out;
}
