// Pure parser for PSI files (cpu.pressure, memory.pressure, io.pressure):
//   some avg10=0.00 avg60=0.00 avg300=0.00 total=12345
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
import type { PressureStats, PressureTotals } from "./types.js";

export function parsePressure(text: string | undefined): PressureStats | undefined {
  if (text === undefined) return undefined;
  let some: PressureTotals | undefined;
  let full: PressureTotals | undefined;
  for (const line of text.split("\n")) {
    const m = /^(some|full)\s.*\btotal=(\d+)\s*$/.exec(line);
    if (m === null) continue;
    const totals = { totalUs: BigInt(m[2] ?? "0") };
    if (m[1] === "some") some = totals;
    else full = totals;
  }
  if (some === undefined) return undefined;
  return full === undefined ? { some } : { some, full };
}
