// The container's mounts: the kernel file systems every container gets, the sandbox's shared
// files (/etc/hosts, /etc/resolv.conf, /etc/hostname, /dev/shm), then the CRI mounts. Image
// VOLUMEs get no mount at all: like containerd's and CRI-O's default ("mkdir"), they are plain
// directories in the container's writable layer (createImageVolumeDirs in prepare.ts).
import * as path from "node:path";
import { InternalError, InvalidArgumentError } from "../../errors.js";
import type { ContainerConfig__Output } from "../../gen/runtime/v1/ContainerConfig.js";
import type { Mount__Output } from "../../gen/runtime/v1/Mount.js";
import type { HostFeatures, SandboxInfo } from "./context.js";
import type { OciMount } from "./oci-types.js";

/** A container path in canonical form: absolute, no "." or "..", no trailing slash. */
export function cleanContainerPath(p: string): string {
  const clean = path.posix.normalize(path.posix.join("/", p));
  return clean.length > 1 && clean.endsWith("/") ? clean.slice(0, -1) : clean;
}

export interface KernelMountOptions {
  /** Privileged containers get /sys and the cgroup tree writable. */
  privileged: boolean;
  /** Host directory for /dev/shm; a private tmpfs when absent. */
  shmSource?: string;
}

/** /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, /sys/fs/cgroup. */
export function kernelMounts(opts: KernelMountOptions): OciMount[] {
  const sysMode = opts.privileged ? "rw" : "ro";
  const shm: OciMount =
    opts.shmSource !== undefined
      ? {
          destination: "/dev/shm",
          type: "bind",
          source: opts.shmSource,
          options: ["rbind", "rprivate", "nosuid", "nodev", "noexec"],
        }
      : {
          destination: "/dev/shm",
          type: "tmpfs",
          source: "shm",
          options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        };
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    shm,
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", sysMode],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", sysMode],
    },
  ];
}

/** The sandbox files a container sees, as container path → host path. */
export function sandboxFiles(sandbox: SandboxInfo): [string, string][] {
  const files: [string, string][] = [];
  if (sandbox.hostsPath !== undefined) files.push(["/etc/hosts", sandbox.hostsPath]);
  if (sandbox.resolvConfPath !== undefined)
    files.push(["/etc/resolv.conf", sandbox.resolvConfPath]);
  if (sandbox.hostnamePath !== undefined) files.push(["/etc/hostname", sandbox.hostnamePath]);
  return files;
}

/** Every container path resolveMountDestinations must resolve before building the spec. */
export function mountDestinationsToResolve(
  config: ContainerConfig__Output,
  sandbox: SandboxInfo,
): string[] {
  const paths = config.mounts.map((m) => m.container_path);
  for (const [dest] of sandboxFiles(sandbox)) paths.push(dest);
  return [...new Set(paths)];
}

const PROPAGATION: Readonly<Record<Mount__Output["propagation"], string>> = {
  PROPAGATION_PRIVATE: "rprivate",
  PROPAGATION_HOST_TO_CONTAINER: "rslave",
  PROPAGATION_BIDIRECTIONAL: "rshared",
};

function resolvedDestination(destinations: ReadonlyMap<string, string>, dest: string): string {
  const resolved = destinations.get(dest);
  if (resolved === undefined) {
    throw new InternalError(`mount destination ${dest} was not resolved inside the rootfs`);
  }
  return resolved;
}

function criMount(
  m: Mount__Output,
  i: number,
  destinations: ReadonlyMap<string, string>,
  hostHas: HostFeatures,
  warnings: string[],
): OciMount {
  const field = `config.mounts[${i}]`;
  if (!m.container_path.startsWith("/")) {
    throw new InvalidArgumentError(`${field}.container_path`, "must be an absolute path");
  }
  if (m.image !== null && m.image.image !== "") {
    throw new InvalidArgumentError(`${field}.image`, "image volume mounts are not supported");
  }
  if (m.host_path === "") throw new InvalidArgumentError(`${field}.host_path`, "must be set");
  if (!m.host_path.startsWith("/")) {
    throw new InvalidArgumentError(`${field}.host_path`, "must be an absolute path");
  }
  if (m.uidMappings.length > 0 || m.gidMappings.length > 0) {
    throw new InvalidArgumentError(`${field}.uidMappings`, "id-mapped mounts are not supported");
  }
  const options = ["rbind", PROPAGATION[m.propagation], m.readonly ? "ro" : "rw"];
  if (m.recursive_read_only) {
    if (!m.readonly) {
      throw new InvalidArgumentError(`${field}.recursive_read_only`, "requires readonly");
    }
    if (m.propagation !== "PROPAGATION_PRIVATE") {
      throw new InvalidArgumentError(
        `${field}.recursive_read_only`,
        "requires PROPAGATION_PRIVATE",
      );
    }
    options.push("rro");
  }
  if (m.selinux_relabel && hostHas.selinux) {
    warnings.push(`${field}: SELinux relabeling is not implemented; ${m.host_path} left as is`);
  }
  return {
    destination: resolvedDestination(destinations, m.container_path),
    type: "bind",
    source: m.host_path,
    options,
  };
}

export interface ContainerMountInputs {
  config: ContainerConfig__Output;
  sandbox: SandboxInfo;
  destinations: ReadonlyMap<string, string>;
  privileged: boolean;
  readonlyRootfs: boolean;
  hostHas: HostFeatures;
  warnings: string[];
}

/**
 * Kernel mounts (minus those a CRI mount replaces; a CRI mount of /dev replaces all of /dev/*),
 * the sandbox files the request does not mount itself, then the CRI mounts in request order.
 */
export function containerMounts(inputs: ContainerMountInputs): {
  mounts: OciMount[];
  rootfsPropagation?: string;
} {
  const { config, sandbox, destinations } = inputs;
  const requested = new Set(config.mounts.map((m) => cleanContainerPath(m.container_path)));
  const replaced = (dest: string): boolean =>
    requested.has(dest) || (requested.has("/dev") && dest.startsWith("/dev/"));

  const mounts = kernelMounts({
    privileged: inputs.privileged,
    ...(sandbox.shmPath !== undefined ? { shmSource: sandbox.shmPath } : {}),
  }).filter((m) => !replaced(m.destination));

  for (const [dest, source] of sandboxFiles(sandbox)) {
    if (replaced(dest)) continue;
    mounts.push({
      destination: resolvedDestination(destinations, dest),
      type: "bind",
      source,
      options: ["rbind", "rprivate", inputs.readonlyRootfs ? "ro" : "rw"],
    });
  }
  config.mounts.forEach((m, i) => {
    mounts.push(criMount(m, i, destinations, inputs.hostHas, inputs.warnings));
  });

  // A slave or shared mount needs the rootfs to propagate too, or it never sees events.
  const propagations = config.mounts.map((m) => m.propagation);
  if (propagations.includes("PROPAGATION_BIDIRECTIONAL")) {
    return { mounts, rootfsPropagation: "rshared" };
  }
  if (propagations.includes("PROPAGATION_HOST_TO_CONTAINER")) {
    return { mounts, rootfsPropagation: "rslave" };
  }
  return { mounts };
}
