// Linux capabilities for the container process: containerd's default set adjusted by the CRI
// add/drop lists, all of berth's own for privileged containers.
import { InvalidArgumentError } from "../../errors.js";
import type { Capability__Output } from "../../gen/runtime/v1/Capability.js";
import type { OciCapabilities } from "./oci-types.js";

/** Capability names indexed by their bit number (linux/capability.h). */
export const KNOWN_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** containerd's default set (CRI-NOTES.md). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** The names of the bits set in a /proc/<pid>/status capability mask such as CapBnd. */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return KNOWN_CAPABILITIES.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
}

/** "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" all name CAP_NET_ADMIN. */
function canonical(name: string, field: string): string {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!KNOWN_CAPABILITIES.includes(full)) {
    throw new InvalidArgumentError(field, `unknown capability "${name}"`);
  }
  return full;
}

function isAll(name: string): boolean {
  const upper = name.trim().toUpperCase();
  return upper === "ALL" || upper === "CAP_ALL";
}

export interface CapabilityInputs {
  capabilities: Capability__Output | null;
  privileged: boolean;
  defaults: readonly string[];
  all: readonly string[];
  /** CRI field path of the Capability message, for errors. */
  field: string;
}

/**
 * "ALL" in add starts from every capability, "ALL" in drop from none; then the named adds and
 * then the named drops apply (containerd's order, so add ALL + drop CHOWN = all but CHOWN).
 * The spec lists the same set as effective and permitted for every user, as containerd does;
 * for a non-root user the kernel then empties them at execve unless they are also ambient.
 * Inheritable stays empty (CVE-2022-24769) except for ambient ones, which the kernel needs there.
 */
export function computeCapabilities(inputs: CapabilityInputs): OciCapabilities {
  const c = inputs.capabilities;
  let set: string[];
  if (inputs.privileged) set = [...inputs.all];
  else {
    const adds = c?.add_capabilities ?? [];
    const drops = c?.drop_capabilities ?? [];
    const result = new Set<string>(inputs.defaults);
    if (adds.some(isAll)) for (const cap of inputs.all) result.add(cap);
    if (drops.some(isAll)) result.clear();
    adds.forEach((name, i) => {
      if (!isAll(name)) result.add(canonical(name, `${inputs.field}.add_capabilities[${i}]`));
    });
    drops.forEach((name, i) => {
      if (!isAll(name)) result.delete(canonical(name, `${inputs.field}.drop_capabilities[${i}]`));
    });
    set = [...result];
  }
  const ambient = (c?.add_ambient_capabilities ?? []).map((name, i) =>
    canonical(name, `${inputs.field}.add_ambient_capabilities[${i}]`),
  );
  for (const cap of ambient) {
    if (!set.includes(cap)) {
      throw new InvalidArgumentError(
        `${inputs.field}.add_ambient_capabilities`,
        `${cap} is ambient but not in the container's capability set`,
      );
    }
  }
  return {
    bounding: [...set],
    effective: [...set],
    permitted: [...set],
    inheritable: [...ambient],
    ambient,
  };
}
