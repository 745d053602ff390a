// The one parser for /proc/<pid>/mountinfo (proc(5)), used for cgroup mounts, mount sources and
// "is this path a mount point":
//   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//   (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
// Optional fields (7) end at the "-" separator.

export const SELF_MOUNTINFO = "/proc/self/mountinfo";

export interface MountInfoEntry {
  /** Field 4: the path inside the file system that is mounted (≠ "/" for bind / cgroupns mounts). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** Field 11: per-superblock options; for cgroup v1 these name the controllers. */
  superOptions: string[];
}

/** Undoes the kernel's octal escaping of space, tab, newline and backslash in paths. */
export function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(" ");
    const sep = fields.indexOf("-", 6);
    if (sep < 0 || fields.length < sep + 3) continue;
    out.push({
      root: unescapeMountPath(fields[3] ?? ""),
      mountPoint: unescapeMountPath(fields[4] ?? ""),
      fsType: fields[sep + 1] ?? "",
      source: unescapeMountPath(fields[sep + 2] ?? ""),
      superOptions: (fields[sep + 3] ?? "").split(","),
    });
  }
  return out;
}

/** The mount points listed in a mountinfo text, in its order (stacked mounts repeat). */
export function mountPoints(mountinfo: string): string[] {
  return parseMountinfo(mountinfo).map((m) => m.mountPoint);
}
