// The pod's cgroup parent as a client names it (LinuxPodSandboxConfig.cgroup_parent), checked
// before anything is made, so a bad one cannot leave a cgroup berth can no longer remove (a
// relative or `..` parent) or hang runc (100 KB).
import { InvalidArgumentError } from "../errors.js";
import { checkString, quote } from "../validate/text.js";
import type { CgroupDriver } from "./cgroup-paths.js";

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
  driver: CgroupDriver,
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
