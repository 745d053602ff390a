// berthd's own timing of the lifecycle RPCs, read from its /metrics: the _sum and _count of
// berth_operation_step_seconds{op,step} (as "<op> <step>") and of berth_rpc_duration_seconds for
// successful calls (as "<method> (server)"). The growth between two reads is what the calls in
// between spent there.

export interface Total {
  /** Seconds. */
  sum: number;
  count: number;
}

export type Totals = Map<string, Total>;

export async function stepTotals(port: number): Promise<Totals> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const totals: Totals = new Map();
  const add = (key: string, field: "sum" | "count", value: number) => {
    const t = totals.get(key) ?? { sum: 0, count: 0 };
    t[field] += value;
    totals.set(key, t);
  };
  const steps = /^berth_operation_step_seconds_(sum|count)\{op="([^"]+)",step="([^"]+)"\} (\S+)$/gm;
  for (const m of text.matchAll(steps))
    add(`${m[2]} ${m[3]}`, m[1] as "sum" | "count", Number(m[4]));
  // The whole call as berthd's RPC wrapper timed it: the client's time less transport and decoding.
  const rpc =
    /^berth_rpc_duration_seconds_(sum|count)\{[^}]*method="([^"]+)"[^}]*code="OK"[^}]*\} (\S+)$/gm;
  for (const m of text.matchAll(rpc))
    add(`${m[2]} (server)`, m[1] as "sum" | "count", Number(m[3]));
  return totals;
}

/** Mean milliseconds per observation of each key between two reads (keys that grew only). */
export function meansBetween(before: Totals, after: Totals): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, a] of after) {
    const b = before.get(k) ?? { sum: 0, count: 0 };
    const n = a.count - b.count;
    if (n > 0) out.set(k, ((a.sum - b.sum) / n) * 1000);
  }
  return out;
}
