// Pure helpers that turn a runtime's cgroup settings into the path of a container's cgroup
// relative to each hierarchy's root, for both cgroup drivers:
//  - cgroupfs: the pod's cgroup_parent plus the container id
//    ("/kubepods/besteffort/pod123" + "abc" → "/kubepods/besteffort/pod123/abc");
//  - systemd: OCI cgroupsPath "slice:prefix:name", where systemd nests slices by the dashes of
//    their names ("a-b.slice" lives in "a.slice") and the container is the scope
//    "prefix-name.scope" (runc's rules; systemd.slice(5)).
import * as path from "node:path";
import { InvalidArgumentError } from "../errors.js";

export type CgroupDriver = "cgroupfs" | "systemd";

/** runc's parent when a systemd cgroupsPath leaves the slice empty. */
export const DEFAULT_SYSTEMD_SLICE = "system.slice";

/** Characters systemd allows unescaped in unit names, minus ':' (the cgroupsPath separator). */
const UNIT_NAME_CHARS = /^[A-Za-z0-9_.\\@-]+$/;
const CGROUP_NAME = /^[A-Za-z0-9_.@:-]+$/;

function checkName(field: string, name: string, pattern: RegExp): void {
  if (name === "" || name === "." || name === ".." || !pattern.test(name)) {
    throw new InvalidArgumentError(field, `invalid cgroup name component ${JSON.stringify(name)}`);
  }
}

/**
 * cgroupfs driver: `cgroupParent` (absolute or relative; empty means the root) joined with the
 * container id. `..` is refused rather than resolved, so the result stays where it says.
 */
export function cgroupfsContainerPath(cgroupParent: string, containerId: string): string {
  checkName("container_id", containerId, CGROUP_NAME);
  const parts = cgroupParent.split("/").filter((p) => p !== "" && p !== ".");
  for (const p of parts) checkName("config.linux.cgroup_parent", p, CGROUP_NAME);
  return path.posix.join("/", ...parts, containerId);
}

/** "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" → "/". */
export function expandSystemdSlice(slice: string): string {
  const invalid = (): InvalidArgumentError =>
    new InvalidArgumentError(
      "config.linux.cgroup_parent",
      `invalid systemd slice name ${JSON.stringify(slice)}`,
    );
  if (!slice.endsWith(".slice") || slice === ".slice" || slice.includes("/")) throw invalid();
  const base = slice.slice(0, -".slice".length);
  if (base === "-") return "/";
  if (!UNIT_NAME_CHARS.test(base)) throw invalid();
  let out = "";
  let prefix = "";
  for (const component of base.split("-")) {
    // "a--b.slice", "-a.slice" and "a-.slice" name no slice.
    if (component === "") throw invalid();
    out += `/${prefix}${component}.slice`;
    prefix += `${component}-`;
  }
  return out;
}

/** The unit a systemd cgroupsPath names: "prefix-name.scope", or `name` itself for a slice. */
export function systemdUnitName(prefix: string, name: string): string {
  checkName("container_id", name, UNIT_NAME_CHARS);
  if (name.endsWith(".slice")) return name;
  checkName("cgroups_path prefix", prefix, UNIT_NAME_CHARS);
  return `${prefix}-${name}.scope`;
}

/** Builds the OCI cgroupsPath for the systemd driver: "kubepods-pod1.slice:cri-berth:<id>". */
export function systemdCgroupsPath(
  parentSlice: string,
  prefix: string,
  containerId: string,
): string {
  // Validate now so a bad parent fails at create time, not when runc starts the container.
  if (parentSlice !== "") expandSystemdSlice(parentSlice);
  systemdUnitName(prefix, containerId);
  return `${parentSlice}:${prefix}:${containerId}`;
}

/**
 * The OCI cgroupsPath berth gives a process of a pod (its infra or a container) under the pod's
 * cgroup parent: "<parent>/<id>" for cgroupfs; "<slice>:cri-berth:<id>" for systemd, the slice
 * being the parent's last component when it names one, else berth.slice.
 */
export function podCgroupsPath(driver: CgroupDriver, parent: string, id: string): string {
  if (driver === "systemd") {
    const slice = parent.endsWith(".slice") ? path.posix.basename(parent) : "berth.slice";
    return `${slice}:cri-berth:${id}`;
  }
  return `${parent.replace(/\/+$/, "")}/${id}`;
}

/**
 * A systemd cgroupsPath "slice:prefix:name" → the cgroup path systemd creates, e.g.
 * "kubepods-besteffort-pod123.slice:cri-berth:abc" →
 * "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice/cri-berth-abc.scope".
 */
export function systemdCgroupsPathToCgroupPath(cgroupsPath: string): string {
  const parts = cgroupsPath.split(":");
  if (parts.length !== 3) {
    throw new InvalidArgumentError(
      "cgroups_path",
      `want "slice:prefix:name" for the systemd driver, got ${JSON.stringify(cgroupsPath)}`,
    );
  }
  const [slice = "", prefix = "", name = ""] = parts;
  const parent = expandSystemdSlice(slice === "" ? DEFAULT_SYSTEMD_SLICE : slice);
  return path.posix.join(parent, systemdUnitName(prefix, name));
}

/**
 * The cgroup path (relative to each hierarchy's root) of an OCI `linux.cgroupsPath` as the
 * given driver interprets it. cgroupfs paths are taken as absolute paths from the root.
 */
export function ociCgroupsPathToCgroupPath(cgroupsPath: string, driver: CgroupDriver): string {
  if (driver === "systemd") return systemdCgroupsPathToCgroupPath(cgroupsPath);
  const parts = cgroupsPath.split("/").filter((p) => p !== "" && p !== ".");
  for (const p of parts) checkName("cgroups_path", p, CGROUP_NAME);
  return path.posix.join("/", ...parts);
}
