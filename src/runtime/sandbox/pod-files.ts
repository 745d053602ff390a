// The files a pod's containers share: /etc/hostname, /etc/hosts, /etc/resolv.conf (from the
// sandbox's dns_config, else the host's), and /dev/shm (a tmpfs of the pod's own unless it uses
// the host IPC namespace). Content builders are pure; writing and mounting are at the bottom.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { DNSConfig__Output } from "../../gen/runtime/v1/DNSConfig.js";
import { isErrno } from "../../errors.js";
import { type CommandRunner, runChecked } from "../../util/command.js";
import { MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID } from "../../util/mount-calls.js";
import { SELF_MOUNTINFO, mountPoints } from "../../util/mountinfo.js";
import { settleAll } from "../../util/settle-all.js";

export const SHM_SIZE_BYTES = 64 * 1024 * 1024;

export function hostsFile(hostname: string, ips: readonly string[]): string {
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
  ];
  for (const ip of ips) lines.push(`${ip}\t${hostname}`);
  return lines.join("\n") + "\n";
}

/** resolv.conf from kubelet's DNS config; undefined when kubelet gave none (use the host's). */
export function resolvConf(dns: DNSConfig__Output | null): string | undefined {
  if (!dns || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0)) {
    return undefined;
  }
  const lines: string[] = [];
  if (dns.searches.length > 0) lines.push(`search ${dns.searches.join(" ")}`);
  for (const s of dns.servers) lines.push(`nameserver ${s}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(" ")}`);
  return lines.join("\n") + "\n";
}

export interface PodFilePaths {
  hostname: string;
  hosts: string;
  resolvConf: string;
  shm: string;
}

export function podFilePaths(dir: string): PodFilePaths {
  return {
    hostname: path.join(dir, "hostname"),
    hosts: path.join(dir, "hosts"),
    resolvConf: path.join(dir, "resolv.conf"),
    shm: path.join(dir, "shm"),
  };
}

/** Writes hostname, hosts and resolv.conf into `dir`. */
export async function writePodFiles(
  paths: PodFilePaths,
  opts: { hostname: string; ips: readonly string[]; dns: DNSConfig__Output | null },
): Promise<void> {
  await fs.mkdir(path.dirname(paths.hostname), { recursive: true, mode: 0o755 });
  const resolv = resolvConf(opts.dns);
  await settleAll([
    fs.writeFile(paths.hostname, `${opts.hostname}\n`, { mode: 0o644 }),
    fs.writeFile(paths.hosts, hostsFile(opts.hostname, opts.ips), { mode: 0o644 }),
    resolv !== undefined
      ? fs.writeFile(paths.resolvConf, resolv, { mode: 0o644 })
      : fs
          .copyFile("/etc/resolv.conf", paths.resolvConf)
          .catch(() => fs.writeFile(paths.resolvConf, "")),
  ]);
}

/** Mounts the pod's /dev/shm tmpfs. */
export async function mountShm(shmDir: string, runner: CommandRunner): Promise<void> {
  await fs.mkdir(shmDir, { recursive: true, mode: 0o755 });
  const sys = runner.mounts?.();
  if (sys) {
    const data = `mode=1777,size=${SHM_SIZE_BYTES}`;
    await sys.mount("shm", shmDir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data);
    return;
  }
  await runChecked(runner, "mount", [
    "-t",
    "tmpfs",
    "-o",
    `nosuid,nodev,noexec,mode=1777,size=${SHM_SIZE_BYTES}`,
    "shm",
    shmDir,
  ]);
}

/** Unmounts a path if it is a mount point; idempotent. */
export async function unmountIfMounted(target: string, runner: CommandRunner): Promise<void> {
  const mounted = await isMountPoint(target);
  if (!mounted) return;
  const sys = runner.mounts?.();
  if (sys) {
    try {
      await sys.umount(target, 0);
    } catch {
      // Busy (or stacked): detach it as `umount -l` would.
      if (await isMountPoint(target)) await sys.umount(target, MNT_DETACH);
    }
    return;
  }
  const res = await runner.run("umount", [target]);
  if (res.code !== 0 && (await isMountPoint(target))) {
    await runChecked(runner, "umount", ["-l", target]);
  }
}

/** True when `target` is listed as a mount point in /proc/self/mountinfo. */
export async function isMountPoint(target: string): Promise<boolean> {
  let info: string;
  try {
    info = await fs.readFile(SELF_MOUNTINFO, "utf8");
  } catch (err) {
    if (isErrno(err, "ENOENT")) return false;
    throw err;
  }
  return mountPoints(info).includes(path.resolve(target));
}
