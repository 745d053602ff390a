// Per-interface network counters of a network namespace, read through a process inside it:
// /proc/<pid>/net/dev shows the namespace of <pid> (the pod's infra process for a pod).
import * as path from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { readOptionalText } from "../cgroup/cgroup-files.js";
import type { HostVeth } from "../network/host-veth.js";

export interface NetInterfaceStats {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

export interface NetDevOptions {
  /** Leave out the loopback interface `lo` (cAdvisor does). Default false. */
  excludeLoopback?: boolean;
}

/**
 * Parses /proc/net/dev: two header lines, then "iface: <8 receive> <8 transmit>" columns
 * (bytes packets errs drop fifo frame compressed multicast | bytes packets errs drop fifo
 * colls carrier compressed). Old kernels print no space after the colon, so split on it.
 */
export function parseNetDev(text: string, opts: NetDevOptions = {}): NetInterfaceStats[] {
  const out: NetInterfaceStats[] = [];
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === "" || name.includes("|")) continue;
    if (opts.excludeLoopback === true && name === "lo") continue;
    const cols = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (cols.length < 16 || !cols.every((c) => /^\d+$/.test(c))) continue;
    const n = (i: number): bigint => BigInt(cols[i] ?? "0");
    out.push({
      name,
      rxBytes: n(0),
      rxPackets: n(1),
      rxErrors: n(2),
      rxDropped: n(3),
      txBytes: n(8),
      txPackets: n(9),
      txErrors: n(10),
      txDropped: n(11),
    });
  }
  return out;
}

/** Reads the counters of `pid`'s network namespace; undefined when the process is gone. */
export async function readNetDev(
  pid: number,
  opts: NetDevOptions & { procRoot?: string } = {},
): Promise<NetInterfaceStats[] | undefined> {
  if (!Number.isSafeInteger(pid) || pid <= 0)
    throw new InvalidArgumentError("pid", `not a process id: ${pid}`);
  const text = await readOptionalText(
    path.join(opts.procRoot ?? "/proc", String(pid), "net", "dev"),
  );
  return text === undefined ? undefined : parseNetDev(text, opts);
}

const VETH_COUNTERS = [
  "rx_bytes",
  "rx_packets",
  "rx_errors",
  "rx_dropped",
  "tx_bytes",
  "tx_packets",
  "tx_errors",
  "tx_dropped",
] as const;

/**
 * The pod interface's counters read from the host end of its veth, mirrored: what the host end
 * received the pod sent. Undefined when the interface is gone (the pod was stopped meanwhile).
 */
export async function readHostVethStats(
  veth: HostVeth,
  sysClassNet = "/sys/class/net",
): Promise<NetInterfaceStats | undefined> {
  if (veth.host.includes("/") || veth.host.startsWith(".")) return undefined;
  const dir = path.join(sysClassNet, veth.host, "statistics");
  const texts = await Promise.all(VETH_COUNTERS.map((c) => readOptionalText(path.join(dir, c))));
  const n: Partial<Record<(typeof VETH_COUNTERS)[number], bigint>> = {};
  for (const [i, c] of VETH_COUNTERS.entries()) {
    const t = texts[i]?.trim() ?? "";
    if (!/^\d+$/.test(t)) return undefined;
    n[c] = BigInt(t);
  }
  const v = n as Record<(typeof VETH_COUNTERS)[number], bigint>;
  return {
    name: veth.pod,
    rxBytes: v.tx_bytes,
    rxPackets: v.tx_packets,
    rxErrors: v.tx_errors,
    rxDropped: v.tx_dropped,
    txBytes: v.rx_bytes,
    txPackets: v.rx_packets,
    txErrors: v.rx_errors,
    txDropped: v.rx_dropped,
  };
}
