// The benchmark's report: one markdown table (step | berth | containerd | berth/containerd), as in
// issue 12, then the targets and whether this run met them.

export type Unit = "ms" | "s" | "MiB";

export interface Row {
  step: string;
  berth: number;
  containerd: number;
  unit: Unit;
  /** The target for berth/containerd: met when the ratio is at most this. */
  maxRatio?: number;
}

export interface AbsoluteTarget {
  what: string;
  value: number;
  unit: Unit;
  max: number;
}

function fmt(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return "n/a";
  if (unit === "ms") return `${v.toFixed(0)} ms`;
  if (unit === "s") return `${v.toFixed(2)} s`;
  return `${v.toFixed(1)} MiB`;
}

export function ratio(r: Pick<Row, "berth" | "containerd">): number {
  return r.berth / r.containerd;
}

export function renderTable(rows: readonly Row[]): string {
  const lines = ["| step | berth | containerd | berth/containerd |", "|---|---|---|---|"];
  for (const r of rows) {
    lines.push(
      `| ${r.step} | ${fmt(r.berth, r.unit)} | ${fmt(r.containerd, r.unit)} | ${ratio(r).toFixed(2)} |`,
    );
  }
  return lines.join("\n");
}

export function renderTargets(rows: readonly Row[], absolute: readonly AbsoluteTarget[]): string {
  const lines = ["targets (issue 12):"];
  for (const r of rows) {
    if (r.maxRatio === undefined) continue;
    const v = ratio(r);
    const met = Number.isFinite(v) && v <= r.maxRatio;
    lines.push(
      `  ${met ? "MET    " : "NOT MET"} ${r.step}: ${v.toFixed(2)} (target <= ${r.maxRatio})`,
    );
  }
  for (const a of absolute) {
    const met = a.value <= a.max;
    lines.push(
      `  ${met ? "MET    " : "NOT MET"} ${a.what}: ${fmt(a.value, a.unit)} (target <= ${fmt(a.max, a.unit)})`,
    );
  }
  lines.push(
    "  (not measured here: ListContainerStats and /metrics at 100 containers; see bench/metrics)",
  );
  return lines.join("\n");
}
