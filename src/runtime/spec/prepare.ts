// The file system work the pure spec builders rely on, done beforehand by the caller: resolving
// mount destinations inside the rootfs, stat'ing devices, reading the image's passwd/group and
// Localhost seccomp profiles, creating image VOLUME directories.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, errorMessage, isErrno } from "../../errors.js";
import type { Device__Output } from "../../gen/runtime/v1/Device.js";
import type { LinuxContainerSecurityContext__Output } from "../../gen/runtime/v1/LinuxContainerSecurityContext.js";
import type { LinuxSandboxSecurityContext__Output } from "../../gen/runtime/v1/LinuxSandboxSecurityContext.js";
import { secureJoin } from "../../util/secure-join.js";
import type { ResolvedDevice } from "./context.js";
import type { ImageConfig } from "./image-config.js";
import { cleanContainerPath } from "./mounts.js";
import { seccompKind } from "./seccomp.js";

/** `resolved` (a host path inside `rootfs`) as the container sees it. */
function containerPathOf(rootfs: string, resolved: string): string {
  return path.posix.join("/", path.relative(path.resolve(rootfs), resolved));
}

/**
 * Resolves each container path inside `rootfs` as the kernel would with the rootfs as "/":
 * symlinks in the image are followed but can never lead outside it (CVE-2021-30465,
 * CVE-2024-5154). The map goes from each given path to the path runc should mount on.
 */
export async function resolveMountDestinations(
  rootfs: string,
  destinations: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const dest of destinations) {
    out.set(dest, containerPathOf(rootfs, await secureJoin(rootfs, dest)));
  }
  return out;
}

/** Linux's dev_t encoding (glibc's gnu_dev_major / gnu_dev_minor). */
export function devMajorMinor(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

async function statDevice(
  hostPath: string,
  containerPath: string,
  index: number,
  permissions: string,
): Promise<ResolvedDevice | undefined> {
  const st = await fs.stat(hostPath, { bigint: true });
  let type: "c" | "b";
  if (st.isCharacterDevice()) type = "c";
  else if (st.isBlockDevice()) type = "b";
  else return undefined;
  return {
    index,
    containerPath,
    hostPath,
    type,
    ...devMajorMinor(st.rdev),
    fileMode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    permissions,
  };
}

/** Every device node below `dir`, mapped to the same place below `containerDir`. */
async function devicesBelow(
  dir: string,
  containerDir: string,
  index: number,
  permissions: string,
): Promise<ResolvedDevice[]> {
  const out: ResolvedDevice[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const host = path.join(dir, entry.name);
    const inContainer = path.posix.join(containerDir, entry.name);
    if (entry.isDirectory()) {
      // /dev/pts and /dev/shm are file systems of their own, not devices to copy.
      if (host === "/dev/pts" || host === "/dev/shm") continue;
      out.push(...(await devicesBelow(host, inContainer, index, permissions)));
    } else if (entry.isCharacterDevice() || entry.isBlockDevice()) {
      const d = await statDevice(host, inContainer, index, permissions);
      if (d !== undefined) out.push(d);
    }
  }
  return out;
}

/**
 * Stats the CRI devices on the host. A directory stands for every device below it (as
 * containerd does); container_path defaults to host_path.
 */
export async function resolveDevices(
  devices: readonly Device__Output[],
): Promise<ResolvedDevice[]> {
  const out: ResolvedDevice[] = [];
  for (const [i, d] of devices.entries()) {
    const field = `config.devices[${i}]`;
    if (!d.host_path.startsWith("/")) {
      throw new InvalidArgumentError(`${field}.host_path`, "must be an absolute path");
    }
    const containerPath = d.container_path === "" ? d.host_path : d.container_path;
    let st;
    try {
      st = await fs.stat(d.host_path);
    } catch (err) {
      if (isErrno(err, "ENOENT")) {
        throw new InvalidArgumentError(`${field}.host_path`, `${d.host_path} does not exist`);
      }
      throw err;
    }
    if (st.isDirectory()) {
      out.push(...(await devicesBelow(d.host_path, containerPath, i, d.permissions)));
      continue;
    }
    const dev = await statDevice(d.host_path, containerPath, i, d.permissions);
    if (dev === undefined) {
      throw new InvalidArgumentError(`${field}.host_path`, `${d.host_path} is not a device`);
    }
    out.push(dev);
  }
  return out;
}

/** The host's devices, for privileged containers. */
export async function listHostDevices(dir = "/dev"): Promise<ResolvedDevice[]> {
  return devicesBelow(dir, "/dev", -1, "rwm");
}

async function readInside(rootfs: string, file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(await secureJoin(rootfs, file), "utf8");
  } catch (err) {
    if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR")) return undefined;
    throw err;
  }
}

/** The image's /etc/passwd and /etc/group, read through symlinks resolved inside the rootfs. */
export async function readImageUserFiles(
  rootfs: string,
): Promise<{ passwd?: string; group?: string }> {
  const passwd = await readInside(rootfs, "/etc/passwd");
  const group = await readInside(rootfs, "/etc/group");
  return {
    ...(passwd !== undefined ? { passwd } : {}),
    ...(group !== undefined ? { group } : {}),
  };
}

/** The Localhost seccomp profile file a security context names, if any. */
export function localhostSeccompPath(
  sc: LinuxContainerSecurityContext__Output | LinuxSandboxSecurityContext__Output | null,
  field: string,
): string | undefined {
  if (sc === null) return undefined;
  const kind = seccompKind(sc.seccomp, sc.seccomp_profile_path, field);
  return kind.kind === "localhost" ? kind.path : undefined;
}

/** Reads Localhost seccomp profiles by path, for SeccompSources.localhost. */
export async function loadLocalhostSeccompProfiles(
  paths: readonly string[],
  field: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of paths) {
    try {
      out[p] = await fs.readFile(p, "utf8");
    } catch (err) {
      throw new InvalidArgumentError(
        `${field}.seccomp`,
        `cannot read seccomp profile ${p}: ${errorMessage(err)}`,
      );
    }
  }
  return out;
}

/**
 * Creates the image's VOLUME directories in the container's rootfs (containerd's and CRI-O's
 * default "mkdir" mode) unless a CRI mount covers them; returns the container paths created.
 */
export async function createImageVolumeDirs(
  rootfs: string,
  image: ImageConfig,
  mountedPaths: readonly string[],
): Promise<string[]> {
  const mounted = new Set(mountedPaths.map(cleanContainerPath));
  const created: string[] = [];
  for (const volume of Object.keys(image.Volumes ?? {})) {
    const dest = cleanContainerPath(volume);
    if (mounted.has(dest)) continue;
    const resolved = await secureJoin(rootfs, dest);
    await fs.mkdir(resolved, { recursive: true, mode: 0o755 });
    created.push(dest);
  }
  return created;
}
