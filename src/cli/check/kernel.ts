// Kernel features every container needs: overlayfs for image layers, the namespaces berth puts
// pods in, and seccomp for RuntimeDefault profiles. Pure functions of /proc texts, plus a loader.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { type CheckLine, fail, ok, warn } from "./report.js";

export function overlayLine(filesystems: string, moduleFile: string | undefined): CheckLine {
  if (/\toverlay$/m.test(filesystems)) return ok("kernel overlayfs", "available");
  if (moduleFile !== undefined) {
    return ok("kernel overlayfs", `module ${moduleFile} (loaded on first mount)`);
  }
  return fail(
    "kernel overlayfs",
    "not in /proc/filesystems and no overlay module found",
    "load the overlay module (modprobe overlay) or use a kernel with CONFIG_OVERLAY_FS",
  );
}

/** Namespaces berth creates for pods; cgroup and user are used by runtimes when available. */
export const NEEDED_NAMESPACES = ["mnt", "pid", "net", "ipc", "uts"] as const;
export const OPTIONAL_NAMESPACES = ["cgroup", "user"] as const;

export function namespacesLine(present: readonly string[]): CheckLine {
  const missing = NEEDED_NAMESPACES.filter((n) => !present.includes(n));
  const optional = OPTIONAL_NAMESPACES.filter((n) => present.includes(n));
  if (missing.length > 0) {
    return fail(
      "kernel namespaces",
      `missing ${missing.join(", ")}`,
      "use a kernel with CONFIG_NAMESPACES and the mount, PID, network, IPC and UTS namespaces",
    );
  }
  const extra = optional.length > 0 ? `, also ${optional.join(", ")}` : "";
  return ok("kernel namespaces", `${NEEDED_NAMESPACES.join(", ")}${extra}`);
}

export function seccompLine(status: string, actionsAvail: string | undefined): CheckLine {
  if (!/^Seccomp:/m.test(status)) {
    return warn(
      "kernel seccomp",
      "not supported by this kernel",
      "use a kernel with CONFIG_SECCOMP_FILTER; until then RuntimeDefault profiles cannot apply",
    );
  }
  const actions = actionsAvail?.trim();
  return ok("kernel seccomp", actions ? `filters with actions ${actions}` : "available");
}

async function readOr(file: string): Promise<string | undefined> {
  return fs.readFile(file, "utf8").catch(() => undefined);
}

async function overlayModule(release: string): Promise<string | undefined> {
  const dir = path.join("/lib/modules", release, "kernel/fs/overlayfs");
  const files = await fs.readdir(dir).catch(() => [] as string[]);
  const mod = files.find((f) => f.startsWith("overlay.ko"));
  return mod === undefined ? undefined : path.join(dir, mod);
}

export async function kernelLines(): Promise<CheckLine[]> {
  const release = (await readOr("/proc/sys/kernel/osrelease"))?.trim() ?? "";
  const [filesystems, module, nsList, status, actions] = await Promise.all([
    readOr("/proc/filesystems"),
    overlayModule(release),
    fs.readdir("/proc/self/ns").catch(() => [] as string[]),
    readOr("/proc/self/status"),
    readOr("/proc/sys/kernel/seccomp/actions_avail"),
  ]);
  return [
    overlayLine(filesystems ?? "", module),
    namespacesLine(nsList),
    seccompLine(status ?? "", actions),
  ];
}
