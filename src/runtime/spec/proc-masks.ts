// Which /proc and /sys paths a container gets masked or read-only. kubelet sends its defaults
// for every ordinary container, but crictl and other clients send none, and proto3 cannot tell
// "none" from kubelet's explicit empty lists for `procMount: Unmasked`. So berth applies the
// same defaults when both lists are empty, except where the request can only be an Unmasked one.
import type { LinuxContainerSecurityContext__Output } from "../../gen/runtime/v1/LinuxContainerSecurityContext.js";

/** kubelet's (and moby's) default masked paths. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** kubelet's (and moby's) default read-only paths. */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

export interface ProcMasks {
  maskedPaths: string[];
  readonlyPaths: string[];
}

/**
 * The masks for a container. Privileged: none, whatever was sent. Either list given: exactly
 * what was sent. Both empty: kubelet's `procMount: Unmasked` if the container asks for its own
 * user namespace (the API server allows Unmasked only with `hostUsers: false`), else a client
 * that sent nothing, which gets the defaults.
 */
export function procMasks(
  sc: LinuxContainerSecurityContext__Output | null,
  privileged: boolean,
): ProcMasks {
  if (privileged) return { maskedPaths: [], readonlyPaths: [] };
  const masked = sc?.masked_paths ?? [];
  const readonly = sc?.readonly_paths ?? [];
  if (masked.length > 0 || readonly.length > 0) {
    return { maskedPaths: [...masked], readonlyPaths: [...readonly] };
  }
  if (sc?.namespace_options?.userns_options?.mode === "POD") {
    return { maskedPaths: [], readonlyPaths: [] };
  }
  return { maskedPaths: [...DEFAULT_MASKED_PATHS], readonlyPaths: [...DEFAULT_READONLY_PATHS] };
}
