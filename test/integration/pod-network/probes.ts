// What a pod network leaves on the host, read from the kernel and berthd's dirs: the host ends
// of veths on the test bridge, host-local reservations, nat rules, netns files and mounts, CNI
// result cache entries. Plus the guards that keep every connection on the test's own subnet
// or loopback, and the cleanup of portmap's shared chains.
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { Berthd } from "../../support/berthd.js";
import { mountPoints } from "../../../src/util/mountinfo.js";

const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";
const HOSTPORT_CHAINS = ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"];

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function tryRun(file: string, args: string[]): void {
  try {
    execFileSync(file, args, { stdio: "ignore" });
  } catch {
    // absent already: nothing to do
  }
}

/** Why pod-network tests cannot run here, or undefined when they can. */
export async function podNetworkSkipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "needs root";
  for (const p of ["bridge", "host-local", "loopback", "portmap"]) {
    try {
      await fs.access(path.join("/usr/lib/cni", p));
    } catch {
      return `CNI plugin ${p} not in /usr/lib/cni`;
    }
  }
  for (const tool of ["ip", "iptables", "iptables-save"]) {
    try {
      run("sh", ["-c", `command -v ${tool}`]);
    } catch {
      return `${tool} not installed`;
    }
  }
  return undefined;
}

/**
 * A pod-network suite's first step: skips the suite (saying why) where it cannot run, else saves
 * the host state it may change, for restoreHostNetState.
 */
export async function enterPodNetworkSuite(ctx: Mocha.Context): Promise<HostNetState> {
  const why = await podNetworkSkipReason();
  if (why !== undefined) {
    console.log(`    skipped: ${why}`);
    ctx.skip();
  }
  return saveHostNetState();
}

/** The first three octets of a /24 ("10.1.2.0/24" → "10.1.2."). */
export function subnetPrefix(subnet: string): string {
  return subnet.split(".").slice(0, 3).join(".") + ".";
}

/**
 * Throws unless `ip` is loopback or inside the test's own /24: every address a test connects
 * to passes through here first, so no test traffic can leave the test's bridge.
 */
export function ownTarget(subnet: string, ip: string): string {
  if (ip === "127.0.0.1") return ip;
  if (net.isIPv4(ip) && ip.startsWith(subnetPrefix(subnet))) return ip;
  throw new Error(`refusing to send test traffic to ${ip}: not in ${subnet} or loopback`);
}

/** Host ends of veths enslaved to `bridge`. */
export function bridgePorts(bridge: string): string[] {
  let out: string;
  try {
    out = run("ip", ["-o", "link", "show", "master", bridge]);
  } catch {
    return [];
  }
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => (l.split(": ")[1] ?? "").split("@")[0] ?? "");
}

/** Does a network interface of that name exist on the host? */
export function linkExists(name: string): boolean {
  try {
    run("ip", ["link", "show", name]);
    return true;
  } catch {
    return false;
  }
}

/** IPv4 addresses host-local holds under berth's IPAM dir for network `network`. */
export async function reservations(berthd: Berthd, network = "berth"): Promise<string[]> {
  try {
    const names = await fs.readdir(path.join(berthd.root, "cni", "networks", network));
    return names.filter((n) => /^[0-9.]+$/.test(n) && n.includes(".")).sort();
  } catch {
    return [];
  }
}

/** nat and filter rules and chain lines mentioning any of `needles`. */
export function iptablesLinesWith(needles: readonly string[]): string[] {
  const out: string[] = [];
  for (const table of ["nat", "filter"]) {
    const text = run("iptables-save", ["-t", table]);
    for (const l of text.split("\n")) {
      if (needles.some((n) => l.includes(n))) out.push(`${table}: ${l}`);
    }
  }
  return out;
}

/** `CNI-*` chains of the nat table (per-pod ones and portmap's shared ones). */
export function natChains(): string[] {
  return run("iptables-save", ["-t", "nat"])
    .split("\n")
    .filter((l) => l.startsWith(":CNI-"))
    .map((l) => l.slice(1).split(" ")[0] ?? "");
}

/** Per-pod chains (`-j CNI-...`, not portmap's shared ones) jumped to by rules naming `ids`. */
export function podChains(ids: readonly string[]): string[] {
  const chains = new Set<string>();
  for (const l of iptablesLinesWith(ids)) {
    const args = l.split(" ");
    const jump = args[args.indexOf("-j") + 1];
    if (jump?.startsWith("CNI-") && !HOSTPORT_CHAINS.includes(jump)) chains.add(jump);
  }
  return [...chains].sort();
}

/** Files in berthd's netns dir, and mounts under its state dir that hold a netns. */
export async function netnsLeftovers(berthd: Berthd): Promise<string[]> {
  const dir = path.join(berthd.state, "netns");
  let files: string[] = [];
  try {
    files = (await fs.readdir(dir)).map((f) => path.join(dir, f));
  } catch {
    files = [];
  }
  const mounts = mountPoints(await fs.readFile("/proc/self/mountinfo", "utf8")).filter((mp) =>
    mp.startsWith(dir + "/"),
  );
  return [...files, ...mounts.map((m) => `mount ${m}`)];
}

/** Entries of berthd's CNI result cache. */
export async function cniCacheEntries(berthd: Berthd): Promise<string[]> {
  const dir = path.join(berthd.state, "cni", "results");
  try {
    return (await fs.readdir(dir)).filter((f) => !f.startsWith("."));
  } catch {
    return [];
  }
}

/** Per-pod runtime dirs and sandbox records berthd keeps. */
export async function podDirs(berthd: Berthd): Promise<string[]> {
  const out: string[] = [];
  for (const dir of [path.join(berthd.state, "pods"), path.join(berthd.root, "sandboxes")]) {
    try {
      out.push(...(await fs.readdir(dir)).map((f) => path.join(dir, f)));
    } catch {
      // not created: no pods
    }
  }
  return out;
}

/** Connects to host:port (loopback or the test subnet only) and reads until the peer closes. */
export function tcpRead(
  subnet: string,
  host: string,
  port: number,
  timeoutMs = 3000,
): Promise<string> {
  ownTarget(subnet, host);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let data = "";
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`timeout reading ${host}:${port}`)));
    sock.on("data", (d: Buffer) => (data += d.toString("utf8")));
    sock.on("end", () => resolve(data));
    sock.on("error", reject);
  });
}

/** CPU seconds of a process plus the children it has waited for (plugins, runc, mount). */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0) / 100;
}

/** Host settings and shared chains a test file may change, to put back in `restore`. */
export interface HostNetState {
  ipForward: string;
  hadHostportChains: boolean;
}

export async function saveHostNetState(): Promise<HostNetState> {
  return {
    ipForward: (await fs.readFile(IP_FORWARD, "utf8")).trim(),
    hadHostportChains: natChains().some((c) => HOSTPORT_CHAINS.includes(c)),
  };
}

/**
 * Puts back ip_forward (the bridge plugin turns it on) and, when the host had none before,
 * removes portmap's shared chains (they stay after the last DEL by design).
 */
export async function restoreHostNetState(saved: HostNetState | undefined): Promise<void> {
  if (saved === undefined) return;
  if (!saved.hadHostportChains) {
    for (const l of run("iptables-save", ["-t", "nat"]).split("\n")) {
      if (!l.startsWith("-A ") || l.startsWith("-A CNI-") || !/-j CNI-HOSTPORT-/.test(l)) continue;
      tryRun("sh", ["-c", `iptables -t nat -D ${l.slice(3)}`]);
    }
    for (const c of HOSTPORT_CHAINS) {
      tryRun("iptables", ["-t", "nat", "-F", c]);
      tryRun("iptables", ["-t", "nat", "-X", c]);
    }
  }
  await fs.writeFile(IP_FORWARD, saved.ipForward).catch(() => undefined);
}
