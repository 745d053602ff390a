// The preflight report of `berthd check`: one line per requirement with OK, WARN or FAIL, what
// was found, and for anything not OK what to do about it.
export type CheckLevel = "OK" | "WARN" | "FAIL";

export interface CheckLine {
  level: CheckLevel;
  /** What was checked, e.g. "cgroups" or "runtime crun". */
  item: string;
  /** What was found. */
  detail: string;
  /** What to do about a WARN or FAIL. */
  fix?: string;
}

export function ok(item: string, detail: string): CheckLine {
  return { level: "OK", item, detail };
}

export function warn(item: string, detail: string, fix: string): CheckLine {
  return { level: "WARN", item, detail, fix };
}

export function fail(item: string, detail: string, fix: string): CheckLine {
  return { level: "FAIL", item, detail, fix };
}

export function formatLine(l: CheckLine): string {
  const fix = l.fix === undefined || l.level === "OK" ? "" : `; to do: ${l.fix}`;
  return `${l.level.padEnd(4)} ${l.item}: ${l.detail}${fix}`;
}

/** Non-zero when anything FAILed: a WARN is something berth works around. */
export function exitCode(lines: readonly CheckLine[]): number {
  return lines.some((l) => l.level === "FAIL") ? 1 : 0;
}

export function summary(lines: readonly CheckLine[]): string {
  const count = (lv: CheckLevel) => lines.filter((l) => l.level === lv).length;
  return `${count("OK")} OK, ${count("WARN")} WARN, ${count("FAIL")} FAIL`;
}
