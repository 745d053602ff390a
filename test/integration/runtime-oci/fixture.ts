// Bundles for the runtime-oci integration tests: a busybox-static rootfs and a minimal config.json
// written here (the real spec builder lives elsewhere), in a temp dir and a temp cgroup.
import { randomBytes } from "node:crypto";
import { copyFile, link, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { mountPoints } from "../../../src/util/mountinfo.js";

export const BUSYBOX = "/usr/bin/busybox";
export const RUNC = "/usr/sbin/runc";
export const CRUN = "/usr/bin/crun";
export const CONMON = "/usr/bin/conmon";

const APPLETS = [
  "sh",
  "sleep",
  "echo",
  "cat",
  "head",
  "tr",
  "yes",
  "true",
  "false",
  "ls",
  "env",
  "id",
  "pwd",
  "touch",
];

export function randomId(prefix = "c"): string {
  return `${prefix}${randomBytes(8).toString("hex")}`;
}

/** Why this host cannot run these tests, or undefined when it can. */
export function missingPrereq(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root";
  for (const p of [BUSYBOX, RUNC, CONMON]) if (!existsSync(p)) return `${p} is not installed`;
  return undefined;
}

export async function makeRootfs(dir: string): Promise<string> {
  const rootfs = path.join(dir, "rootfs");
  await mkdir(path.join(rootfs, "bin"), { recursive: true });
  for (const d of ["proc", "dev", "tmp", "etc"]) await mkdir(path.join(rootfs, d));
  try {
    await link(BUSYBOX, path.join(rootfs, "bin/busybox"));
  } catch {
    await copyFile(BUSYBOX, path.join(rootfs, "bin/busybox"));
  }
  for (const a of APPLETS) await symlink("busybox", path.join(rootfs, "bin", a));
  return rootfs;
}

export interface BundleOptions {
  args: string[];
  cgroupsPath: string;
  env?: string[];
  memoryLimit?: number;
}

export function testConfig(o: BundleOptions): Record<string, unknown> {
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: o.env ?? ["PATH=/bin", "HOME=/"],
      cwd: "/",
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: false },
    hostname: "berth-test",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
    ],
    linux: {
      namespaces: [
        { type: "pid" },
        { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
      ],
      cgroupsPath: o.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: "rwm" }],
        ...(o.memoryLimit !== undefined
          ? { memory: { limit: o.memoryLimit, swap: o.memoryLimit } }
          : {}),
      },
    },
  };
}

/** Writes `<dir>/rootfs` and `<dir>/config.json`; returns the bundle dir. */
export async function makeBundle(dir: string, o: BundleOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  await makeRootfs(dir);
  await writeFile(path.join(dir, "config.json"), JSON.stringify(testConfig(o), null, 1));
  return dir;
}

/** The mount points that lie under `dir` (there should be none once a test is done). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  return mountPoints(info).filter((m) => m === dir || m.startsWith(dir + "/"));
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The parent pid of `pid` from /proc, or undefined once it is gone. */
export async function parentPid(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isSafeInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}
