// Paths a client names that berth makes or writes: the pod's cgroup parent, its log directory
// and a container's log path. Each is checked before anything is made, so a bad one cannot
// leave a cgroup berth can no longer remove (a relative or `..` parent) or hang runc (100 KB).
import { InvalidArgumentError } from "../errors.js";
import { MAX_PATH_CHARS, checkAbsolutePath, checkString, quote } from "./text.js";

/** Longer cgroup paths than this serve no pod; runc spends a minute on a 100 KB one. */
export const MAX_CGROUP_PARENT = 1024;
const CGROUP_COMPONENT = /^[A-Za-z0-9_.:@-]{1,255}$/;
const SLICE = /^[A-Za-z0-9_.:@-]+\.slice$/;

/**
 * LinuxPodSandboxConfig.cgroup_parent: for cgroupfs an absolute, normalised path
 * (`/kubepods/burstable/pod<uid>`); for systemd a slice (`kubepods-burstable-pod<uid>.slice`,
 * optionally as the last component of such a path). "" means berth picks one.
 */
export function checkCgroupParent(
  value: string,
  driver: "cgroupfs" | "systemd",
  field = "config.linux.cgroup_parent",
): void {
  if (value === "") return;
  checkString(field, value, MAX_CGROUP_PARENT);
  if (driver === "systemd") {
    const last = value.slice(value.lastIndexOf("/") + 1);
    if (!SLICE.test(last) || value.split("/").some((c) => c === "." || c === "..")) {
      throw new InvalidArgumentError(field, `${quote(value)} is not a systemd slice (name.slice)`);
    }
    return;
  }
  if (!value.startsWith("/")) {
    throw new InvalidArgumentError(field, `${quote(value)} must be an absolute cgroup path`);
  }
  const parts = value.split("/").slice(1);
  if (value === "/" || parts.some((c) => c === "" || c === "." || c === "..")) {
    throw new InvalidArgumentError(
      field,
      `${quote(value)} must be a normalised path below the root (no '.', '..', '//' or trailing '/')`,
    );
  }
  for (const c of parts) {
    if (!CGROUP_COMPONENT.test(c)) {
      throw new InvalidArgumentError(
        field,
        `component ${quote(c)} must be 1-255 of letters, digits, '_', '.', ':', '@', '-'`,
      );
    }
  }
}

/**
 * Printable ASCII: log paths reach conmon's command line, and conmon (GLib's option parser in
 * the C locale) exits 1 on any other byte, after berth has waited for it for over a second.
 */
function checkConmonSafe(field: string, value: string): void {
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new InvalidArgumentError(field, `${quote(value)} must be printable ASCII`);
  }
}

/** PodSandboxConfig.log_directory: absolute, no `..`, or "" for none. */
export function checkLogDirectory(value: string, field = "config.log_directory"): void {
  if (value === "") return;
  checkAbsolutePath(field, value);
  checkConmonSafe(field, value);
  if (value.split("/").every((c) => c === "" || c === ".")) {
    throw new InvalidArgumentError(field, "must not be the root directory");
  }
}

/**
 * ContainerConfig.log_path: a file below the pod's log directory, relative, without `.`/`..`
 * components and not ending in `/` (kubelet sends `<container>/<attempt>.log`).
 */
export function checkLogPath(value: string, field = "config.log_path"): void {
  if (value === "") return;
  checkString(field, value, MAX_PATH_CHARS);
  checkConmonSafe(field, value);
  if (value.startsWith("/")) {
    throw new InvalidArgumentError(
      field,
      `${quote(value)} must be relative to the pod's log_directory`,
    );
  }
  const parts = value.split("/");
  if (parts.some((c) => c === "" || c === "." || c === "..")) {
    throw new InvalidArgumentError(
      field,
      `${quote(value)} must name a file below the pod's log_directory (no '.', '..', '//' or trailing '/')`,
    );
  }
}
