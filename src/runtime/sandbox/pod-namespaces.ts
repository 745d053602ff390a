// The namespaces of a pod without an infra container (CRI-O's drop_infra_ctr): the network, IPC
// and UTS namespaces are pinned by bind-mounting them onto files, the way the netns already was,
// so no process has to live to hold them. One short-lived util-linux `unshare` makes all of them
// and sets the hostname from inside; the pod's sysctls are written from inside with `nsenter`
// once CNI has made the interfaces some of them name. Containers join the files by path.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { InternalError, errorMessage, isErrno } from "../../errors.js";
import type { NamespaceOption__Output } from "../../gen/runtime/v1/NamespaceOption.js";
import { releaseMounts } from "../../network/netns.js";
import { mountPoints } from "../../util/mountinfo.js";
import { type CommandRunner, runChecked } from "../../util/command.js";
import { settleAll } from "../../util/settle-all.js";
import { namespaceOptions } from "../spec/namespaces.js";

/** Pinned namespace files of a pod; a kind left out is the host's (NODE). */
export interface PodNamespaceFiles {
  net?: string;
  ipc?: string;
  uts?: string;
}

export interface PodNamespaceTools {
  unshare: string;
  nsenter: string;
}

export const DEFAULT_POD_NAMESPACE_TOOLS: PodNamespaceTools = {
  unshare: "unshare",
  nsenter: "nsenter",
};

/** Where the IPC and UTS files of a pod live: its runtime dir (the netns stays in netnsDir). */
export function podNamespaceDir(podDir: string): string {
  return path.join(podDir, "ns");
}

/**
 * Whether a pod gets an infra process: only one that shares a PID namespace needs a PID 1
 * (catatonit) to hold it, unless the operator asked for an infra in every pod.
 */
export function needsInfra(nsOpts: NamespaceOption__Output | null, dropInfraCtr: boolean): boolean {
  return !dropInfraCtr || namespaceOptions(nsOpts).pid === "POD";
}

/** The files a pod's namespaces are pinned on, for its namespace options (pure). */
export function podNamespaceFiles(
  nsOpts: NamespaceOption__Output | null,
  netnsFile: string,
  podDir: string,
): PodNamespaceFiles {
  const ns = namespaceOptions(nsOpts);
  const dir = podNamespaceDir(podDir);
  const out: PodNamespaceFiles = {};
  // UTS follows the network mode, as the infra's spec does: hostNetwork means the host's name.
  if (ns.network !== "NODE") {
    out.net = netnsFile;
    out.uts = path.join(dir, "uts");
  }
  if (ns.ipc !== "NODE") out.ipc = path.join(dir, "ipc");
  return out;
}

function entries(files: PodNamespaceFiles): [kind: "net" | "ipc" | "uts", file: string][] {
  const out: ["net" | "ipc" | "uts", string][] = [];
  for (const kind of ["net", "ipc", "uts"] as const) {
    const f = files[kind];
    if (f !== undefined && f !== "") out.push([kind, f]);
  }
  return out;
}

/** `--net=F --ipc=F --uts=F` for unshare and nsenter (pure). */
export function namespaceFlags(files: PodNamespaceFiles): string[] {
  return entries(files).map(([kind, f]) => `--${kind}=${f}`);
}

/** Writes the hostname from inside the new UTS namespace; `$1` is the name. */
const SET_HOSTNAME = 'printf %s "$1" > /proc/sys/kernel/hostname';

/**
 * The unshare command line that makes and pins every namespace in `files` and, with a UTS
 * namespace, sets `hostname` in it (pure). Names reach the shell as arguments, never as code.
 */
export function unshareArgs(files: PodNamespaceFiles, hostname: string): string[] {
  const flags = namespaceFlags(files);
  if (files.uts === undefined || files.uts === "") return [...flags, "true"];
  return [...flags, "sh", "-c", SET_HOSTNAME, "sh", hostname];
}

/**
 * A sysctl name as a path under /proc/sys (pure). kubelet's forms: "net/ipv4/ip_forward", and
 * dotted names in which a '/' stands for a '.' inside one component ("net.ipv4.conf.eth0/100.x"
 * for the interface eth0.100), as sysctl(8) has it. The names were validated already (no "..").
 */
export function sysctlPath(name: string): string {
  if (name.includes("/") && !name.includes(".")) return name;
  return name.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
}

/** Writes each "$path" "$value" pair after the first argument under /proc/sys, in order. */
const WRITE_SYSCTLS =
  'while [ "$#" -gt 0 ]; do printf "%s\\n" "$2" > "/proc/sys/$1" || exit 1; shift 2; done';

/** The nsenter command line that writes `sysctls` inside the pod's namespaces (pure). */
export function sysctlArgs(files: PodNamespaceFiles, sysctls: Record<string, string>): string[] {
  const pairs = Object.entries(sysctls).flatMap(([k, v]) => [sysctlPath(k), v]);
  return [...namespaceFlags(files), "sh", "-c", WRITE_SYSCTLS, "sh", ...pairs];
}

const realDirs = new Map<string, Promise<string>>();

/**
 * `dir` made and resolved to its real path on the first call for it, then remembered (a mount
 * point is listed by its real path). A failure is not remembered. Should the dir go later,
 * pinPodNamespaces makes it again.
 */
export function realDirOnce(dir: string): Promise<string> {
  const known = realDirs.get(dir);
  if (known !== undefined) return known;
  const made = fs.mkdir(dir, { recursive: true, mode: 0o755 }).then(() => fs.realpath(dir));
  realDirs.set(dir, made);
  made.catch(() => {
    if (realDirs.get(dir) === made) realDirs.delete(dir);
  });
  return made;
}

/**
 * Makes the pod's namespaces and pins them on `files` (created here, exclusively), with the
 * hostname set. Nothing is left behind when it fails.
 */
export async function pinPodNamespaces(
  runner: CommandRunner,
  files: PodNamespaceFiles,
  hostname: string,
  tools: PodNamespaceTools = DEFAULT_POD_NAMESPACE_TOOLS,
): Promise<void> {
  const list = entries(files);
  if (list.length === 0) return;
  const made: PodNamespaceFiles = {};
  try {
    // The files at once (settleAll: every one made is in `made` before a failure undoes them).
    await settleAll(
      list.map(async ([kind, f]) => {
        await fs.mkdir(path.dirname(f), { recursive: true, mode: 0o755 });
        await (await fs.open(f, "wx", 0o444)).close();
        made[kind] = f;
      }),
    );
    await runChecked(runner, tools.unshare, unshareArgs(files, hostname), { timeoutMs: 30_000 });
  } catch (err) {
    // Only what this call made: a file that was there already is someone else's.
    await releasePodNamespaces(runner, made).catch(() => undefined);
    throw new InternalError(`cannot create the pod's namespaces: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** Writes the pod's namespaced sysctls from inside its namespaces (none: nothing is run). */
export async function applyPodSysctls(
  runner: CommandRunner,
  files: PodNamespaceFiles,
  sysctls: Record<string, string>,
  tools: PodNamespaceTools = DEFAULT_POD_NAMESPACE_TOOLS,
): Promise<void> {
  if (Object.keys(sysctls).length === 0) return;
  try {
    await runChecked(runner, tools.nsenter, sysctlArgs(files, sysctls), { timeoutMs: 30_000 });
  } catch (err) {
    throw new InternalError(`cannot set the pod's sysctls: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Unmounts and removes the IPC and UTS files (the netns is the network teardown's to release,
 * after CNI DEL). Idempotent: files already gone are fine.
 */
export async function releasePodNamespaces(
  runner: CommandRunner,
  files: PodNamespaceFiles,
): Promise<void> {
  await releaseMounts(
    runner,
    entries(files).map(([, f]) => f),
    [],
  );
}

/** Releases whatever a crashed RunPodSandbox pinned under a pod dir that has no record. */
export async function releaseOrphanPodNamespaces(
  runner: CommandRunner,
  podDir: string,
): Promise<void> {
  const dir = podNamespaceDir(podDir);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return;
    throw err;
  }
  await releaseMounts(
    runner,
    names.map((n) => path.join(dir, n)),
    [],
  );
}

/**
 * Whether every namespace of the pod is still pinned (its file is a mount point). After a host
 * reboot they are gone with /run; a pod without them cannot be READY.
 */
export async function podNamespacesPinned(
  files: PodNamespaceFiles,
  mountinfoPath = "/proc/self/mountinfo",
): Promise<boolean> {
  const mounted = new Set(mountPoints(await fs.readFile(mountinfoPath, "utf8")));
  for (const [, f] of entries(files)) {
    let real: string;
    try {
      real = await fs.realpath(f);
    } catch {
      return false;
    }
    if (!mounted.has(real)) return false;
  }
  return true;
}
