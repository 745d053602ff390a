// Paths a client names that berth makes or writes: the pod's log directory and a container's
// log path (the cgroup parent's check is src/cgroup/cgroup-parent.ts). Each is checked before
// anything is made.
import { InvalidArgumentError } from "../errors.js";
import { MAX_PATH_CHARS, checkAbsolutePath, checkString, quote } from "./text.js";

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
