// Device nodes and the device cgroup: deny everything but the few nodes every container needs,
// then allow the devices the request asks for. Privileged containers get every device.
import { InvalidArgumentError } from "../../errors.js";
import type { ResolvedDevice } from "./context.js";
import type { OciDevice, OciDeviceCgroupRule } from "./oci-types.js";

/** null, zero, full, random, urandom, tty, console, ptmx and the pty slaves. */
export function defaultDeviceRules(): OciDeviceCgroupRule[] {
  const rwm = (type: "c", major: number, minor?: number): OciDeviceCgroupRule =>
    minor === undefined
      ? { allow: true, type, major, access: "rwm" }
      : { allow: true, type, major, minor, access: "rwm" };
  return [
    { allow: false, access: "rwm" },
    // mknod alone is harmless without read/write access, and images ship device nodes.
    { allow: true, type: "c", access: "m" },
    { allow: true, type: "b", access: "m" },
    rwm("c", 1, 3),
    rwm("c", 1, 5),
    rwm("c", 1, 7),
    rwm("c", 1, 8),
    rwm("c", 1, 9),
    rwm("c", 5, 0),
    rwm("c", 5, 1),
    rwm("c", 5, 2),
    rwm("c", 136),
  ];
}

function checkPermissions(d: ResolvedDevice): string {
  const p = d.permissions === "" ? "rwm" : d.permissions;
  if (!/^[rwm]{1,3}$/.test(p) || new Set(p).size !== p.length) {
    throw new InvalidArgumentError(
      `config.devices[${d.index}].permissions`,
      `"${d.permissions}" is not a combination of r, w and m`,
    );
  }
  return p;
}

function ociDevice(d: ResolvedDevice): OciDevice {
  return {
    path: d.containerPath,
    type: d.type,
    major: d.major,
    minor: d.minor,
    fileMode: d.fileMode,
    uid: d.uid,
    gid: d.gid,
  };
}

export function containerDevices(
  requested: readonly ResolvedDevice[],
  privileged: boolean,
  hostDevices: readonly ResolvedDevice[],
): { devices: OciDevice[]; rules: OciDeviceCgroupRule[] } {
  for (const d of requested) {
    if (!d.containerPath.startsWith("/")) {
      throw new InvalidArgumentError(
        `config.devices[${d.index}].container_path`,
        "must be an absolute path",
      );
    }
    checkPermissions(d);
  }
  if (privileged) {
    const byPath = new Map<string, OciDevice>();
    for (const d of [...hostDevices, ...requested]) byPath.set(d.containerPath, ociDevice(d));
    return { devices: [...byPath.values()], rules: [{ allow: true, access: "rwm" }] };
  }
  const rules = defaultDeviceRules();
  const devices: OciDevice[] = [];
  for (const d of requested) {
    const access = checkPermissions(d);
    devices.push(ociDevice(d));
    rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access });
  }
  return { devices, rules };
}
