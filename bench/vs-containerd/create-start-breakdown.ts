// Where berth's CreateContainer + StartContainer goes, from berthd's own timers over the
// lifecycle rounds (berth_rpc_duration_seconds, berth_operation_step_seconds): each step inside
// berthd, what lies outside its RPC timers (crictl's start, the connection, its Version call, the
// transport), and the figure the pair would have with every step of berth's own removed, only
// that outside share, conmon with the runtime's create, and the runtime's start left: how near
// containerd's figure a path with one conmon per container can get on this host.
import { fmtMs } from "../stats.js";

export interface PairFigures {
  /** Medians of the lifecycle rounds, ms. */
  versionMs: number;
  berthMs: number;
  containerdMs: number;
}

function stepsOf(means: Map<string, number>, op: string): string {
  return [...means]
    .filter(([k]) => k.startsWith(`${op} `) && !k.endsWith("(server)"))
    .map(([k, ms]) => `${k.slice(op.length + 1)} ${ms.toFixed(1)}`)
    .join(", ");
}

/** The report's lines; `means`: ms per call of each key (step-sums.ts meansBetween). */
export function createStartBreakdown(means: Map<string, number>, f: PairFigures): string[] {
  const create = means.get("CreateContainer (server)") ?? NaN;
  const start = means.get("StartContainer (server)") ?? NaN;
  const runtimeCreate = means.get("CreateContainer create") ?? NaN;
  const runtimeStart = means.get("StartContainer runtime-start") ?? NaN;
  const outside = f.berthMs - create - start;
  const floor = outside + runtimeCreate + runtimeStart;
  const pad = (s: string) => s.padEnd(30);
  return [
    `berth's CreateContainer + StartContainer: ${fmtMs(f.berthMs)} (median); means of berthd's timers:`,
    `  ${pad("CreateContainer in berthd")}${fmtMs(create)}: ${stepsOf(means, "CreateContainer")}`,
    `  ${pad("")}(create: conmon starts, runs the runtime's create, reports the pid)`,
    `  ${pad("StartContainer in berthd")}${fmtMs(start)}: ${stepsOf(means, "StartContainer")}`,
    `  ${pad("outside berthd's RPC timers")}${fmtMs(outside)}: two crictl starts, connections, ` +
      `Version calls, transport (one crictl version: ${fmtMs(f.versionMs)})`,
    `  with berth's own steps removed (outside + create + runtime-start): ${fmtMs(floor)}, ` +
      `${(floor / f.containerdMs).toFixed(2)} of containerd's ${fmtMs(f.containerdMs)}`,
  ];
}
