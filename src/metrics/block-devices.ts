// Names for the `device` label: block devices by major:minor (/sys/dev/block/M:m/uevent's
// DEVNAME, as cAdvisor shows "/dev/sda"), and the device a directory's file system is on.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { readOptionalText } from "../cgroup/cgroup-files.js";
import { SELF_MOUNTINFO, parseMountinfo } from "../util/mountinfo.js";

export class BlockDeviceNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly sysDevBlock = "/sys/dev/block") {}

  /** Looks up devices not seen before; names never change while a device exists. */
  async resolve(devices: Iterable<{ major: number; minor: number }>): Promise<void> {
    const missing = new Set<string>();
    for (const d of devices) {
      const key = `${d.major}:${d.minor}`;
      if (!this.names.has(key)) missing.add(key);
    }
    await Promise.all(
      [...missing].map(async (key) => {
        const uevent = await readOptionalText(path.join(this.sysDevBlock, key, "uevent"));
        const m = uevent === undefined ? null : /^DEVNAME=(.+)$/m.exec(uevent);
        this.names.set(key, m === null ? key : `/dev/${m[1]}`);
      }),
    );
  }

  /** The resolved name, or "major:minor" when unknown. */
  name(major: number, minor: number): string {
    const key = `${major}:${minor}`;
    return this.names.get(key) ?? key;
  }
}

/** The mount source (e.g. /dev/vda1, overlay, tmpfs) of the file system holding `dir`. */
export function mountSourceOf(mountinfo: string, dir: string): string | undefined {
  let best: { len: number; source: string } | undefined;
  for (const m of parseMountinfo(mountinfo)) {
    const mp = m.mountPoint;
    const inside = mp === "/" || dir === mp || dir.startsWith(mp.endsWith("/") ? mp : `${mp}/`);
    if (inside && (best === undefined || mp.length >= best.len)) {
      best = { len: mp.length, source: m.source };
    }
  }
  return best?.source;
}

export async function filesystemDevice(
  dir: string,
  mountinfoPath = SELF_MOUNTINFO,
): Promise<string> {
  const text = await fs.readFile(mountinfoPath, "utf8");
  return mountSourceOf(text, path.resolve(dir)) ?? "";
}
