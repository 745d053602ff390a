// What the benchmark may leave on the host when a daemon could not tidy up itself (a crash, a
// Ctrl-C): processes naming its dirs, mounts under its dirs, its bridges and their veths, iptables
// rules naming its subnets, its cgroup trees, the sockets of shims it had to kill.
// Every step touches only what is provably the benchmark's, and reports what it removed.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { listProcesses, type ProcInfo, runtimeProcesses } from "./processes.js";

function quiet(cmd: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
}

/** SIGKILLs, by PID, every process left whose command line names `dir`, and its descendants. */
export async function killLeftovers(dir: string): Promise<ProcInfo[]> {
  const procs = runtimeProcesses(await listProcesses(), undefined, dir);
  const left = [...procs.helpers, ...procs.podHolders, ...procs.workloads];
  for (const p of left) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  return left;
}

/** Mount points in /proc/self/mountinfo (octal escapes decoded). */
export function parseMountPoints(mountinfo: string): string[] {
  return mountinfo
    .split("\n")
    .filter((l) => l !== "")
    .map((l) =>
      (l.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) =>
        String.fromCharCode(parseInt(o, 8)),
      ),
    );
}

/** Unmounts everything under `dir`, deepest first (lazily when busy). Returns how many. */
export async function unmountUnder(dir: string): Promise<number> {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const points = parseMountPoints(await fs.readFile("/proc/self/mountinfo", "utf8"))
    .filter((m) => m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const m of points) {
    if (quiet("umount", [m]) === undefined) quiet("umount", ["-l", m]);
  }
  return points.length;
}

/** Deletes the bridge and any veth still enslaved to it. */
export function deleteBridge(bridge: string): boolean {
  const ports = quiet("ip", ["-o", "link", "show", "master", bridge]) ?? "";
  for (const line of ports.split("\n")) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name) quiet("ip", ["link", "del", name]);
  }
  return quiet("ip", ["link", "del", bridge]) !== undefined;
}

/** `-A` lines of `iptables-save` output that mention any of `needles`, as `-D` argument lists. */
export function rulesToDelete(
  save: string,
  needles: readonly string[],
): { table: string; args: string[] }[] {
  const out: { table: string; args: string[] }[] = [];
  let table = "";
  for (const line of save.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1);
    if (!line.startsWith("-A ") || !needles.some((n) => line.includes(n))) continue;
    // iptables-save quotes comments with spaces; the CNI plugins' comments have none.
    out.push({
      table,
      args: [
        "-D",
        ...line
          .slice(3)
          .split(" ")
          .filter((s) => s !== ""),
      ],
    });
  }
  return out;
}

/** Removes iptables rules naming our subnets or bridges (none expected without masquerade). */
export function deleteIptablesRules(needles: readonly string[]): number {
  const save = quiet("iptables-save", []);
  if (save === undefined) return 0;
  const rules = rulesToDelete(save, needles);
  for (const r of rules) quiet("iptables", ["-t", r.table, "-w", ...r.args]);
  return rules.length;
}

/** The real dirs of the mounted cgroup hierarchies (v1 controllers and the unified one). */
async function cgroupMounts(): Promise<string[]> {
  const base = "/sys/fs/cgroup";
  const out = new Set<string>();
  const entries = await fs.readdir(base, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isDirectory()) out.add(path.join(base, e.name));
  }
  if (existsSync(path.join(base, "cgroup.controllers"))) out.add(base);
  return [...out];
}

async function rmdirTree(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isDirectory()) await rmdirTree(path.join(dir, e.name));
  }
  await fs.rmdir(dir).catch(() => undefined);
}

/** Removes the cgroup `rel` (e.g. `/vsbench1a2b`) and everything under it, in every hierarchy. */
export async function removeCgroupTree(rel: string): Promise<number> {
  let removed = 0;
  for (const mount of await cgroupMounts()) {
    const dir = path.join(mount, rel);
    if (!existsSync(dir)) continue;
    await rmdirTree(dir);
    if (!existsSync(dir)) removed++;
  }
  return removed;
}

/** containerd's shim socket dir: 1.6 puts the sockets there whatever its state dir. */
export const SHIM_SOCKET_DIR = "/run/containerd/s";

/**
 * The socket of the runc v2 shim with this command line: containerd 1.6 names it by the sha256
 * of `<containerd address>/<namespace>/<id>`. Undefined for any other command line.
 */
export function shimSocketPath(cmdline: string): string | undefined {
  const args = cmdline.split(" ");
  if (!(args[0] ?? "").endsWith("containerd-shim-runc-v2")) return undefined;
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const [address, ns, id] = [flag("-address"), flag("-namespace"), flag("-id")];
  if (address === undefined || ns === undefined || id === undefined) return undefined;
  const hash = createHash("sha256").update(`${address}/${ns}/${id}`).digest("hex");
  return path.join(SHIM_SOCKET_DIR, hash);
}

/**
 * Removes the sockets of the shims `killed` (a shim that exits by itself removes its own), then
 * /run/containerd/s and /run/containerd if the run made them and they are empty.
 */
export async function removeShimSockets(
  killed: readonly ProcInfo[],
  runDirExisted: boolean,
): Promise<number> {
  let removed = 0;
  for (const p of killed) {
    const socket = shimSocketPath(p.cmdline);
    if (socket === undefined || !existsSync(socket)) continue;
    await fs.rm(socket, { force: true });
    removed++;
  }
  if (!runDirExisted) {
    await fs.rmdir(SHIM_SOCKET_DIR).catch(() => undefined);
    await fs.rmdir(path.dirname(SHIM_SOCKET_DIR)).catch(() => undefined);
  }
  return removed;
}
