// Pod network namespaces, kept alive without a process by bind-mounting the namespace onto a
// file under berth's state dir (`<state>/netns/<name>`), as `ip netns add` does under /run/netns.
// util-linux `unshare --net=<file> true` makes the namespace and the bind mount in one step.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import {
  AlreadyExistsError,
  InternalError,
  InvalidArgumentError,
  errorMessage,
  isErrno,
} from "../errors.js";
import { type CommandRunner, runChecked } from "../util/command.js";
import { MNT_DETACH } from "../util/mount-calls.js";
import { mountPoints } from "../util/mountinfo.js";

export interface NetnsTools {
  unshare: string;
  umount: string;
}

export const DEFAULT_NETNS_TOOLS: NetnsTools = { unshare: "unshare", umount: "umount" };

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** A fresh name for a pod's netns. */
export function newNetnsName(): string {
  return `berth-${randomBytes(8).toString("hex")}`;
}

/**
 * Creates netns `name` as `<dir>/<name>` and returns its path. Throws AlreadyExistsError when
 * the file exists; nothing is left behind when creating fails.
 */
export async function createNetns(
  runner: CommandRunner,
  dir: string,
  name: string,
  tools: NetnsTools = DEFAULT_NETNS_TOOLS,
): Promise<string> {
  if (!NAME.test(name))
    throw new InvalidArgumentError("netns name", `${JSON.stringify(name)} is not valid`);
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const file = path.join(await fs.realpath(dir), name);
  try {
    await (await fs.open(file, "wx", 0o444)).close();
  } catch (err) {
    if (isErrno(err, "EEXIST"))
      throw new AlreadyExistsError(`network namespace ${file} already exists`);
    throw err;
  }
  try {
    await runChecked(runner, tools.unshare, [`--net=${file}`, "true"], { timeoutMs: 30_000 });
  } catch (err) {
    await removeNetns(runner, file, tools).catch(() => undefined);
    throw new InternalError(`cannot create network namespace ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return file;
}

/**
 * Unmounts and deletes a netns file. Idempotent: a file that is gone, or no longer mounted,
 * is fine. The unmount is lazy (MNT_DETACH), as containerd's: the namespace itself lives on
 * while a process is still in it.
 */
export function removeNetns(
  runner: CommandRunner,
  file: string,
  tools: NetnsTools = DEFAULT_NETNS_TOOLS,
  mountinfoPath = "/proc/self/mountinfo",
): Promise<void> {
  return releaseMounts(runner, [file], [], tools, mountinfoPath);
}

async function realOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fs.realpath(file);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return undefined;
    throw err;
  }
}

/**
 * Lazily unmounts every one of `files` (namespace files: deleted after) and `dirs` (mount
 * points that stay, such as a pod's shm dir): with umount2(2) calls where the runner offers
 * them, else with one umount process (each process costs milliseconds of a core here, and a
 * pod's stop has several). Idempotent like removeNetns.
 */
export async function releaseMounts(
  runner: CommandRunner,
  files: readonly string[],
  dirs: readonly string[],
  tools: NetnsTools = DEFAULT_NETNS_TOOLS,
  mountinfoPath = "/proc/self/mountinfo",
): Promise<void> {
  const real = async (list: readonly string[]): Promise<string[]> =>
    (await Promise.all(list.filter((f) => f !== "").map(realOrUndefined))).filter(
      (f): f is string => f !== undefined,
    );
  const [realFiles, realDirs] = await Promise.all([real(files), real(dirs)]);
  const targets = [...realFiles, ...realDirs];
  const stillMounted = async (): Promise<string[]> => {
    const mounted = new Set(mountPoints(await fs.readFile(mountinfoPath, "utf8")));
    return targets.filter((t) => mounted.has(t));
  };
  // A name bind-mounted twice has two mounts stacked on it; take them all off.
  let left = await stillMounted();
  const sys = runner.mounts?.();
  for (let i = 0; i < 8 && left.length > 0; i++) {
    let failure = "";
    if (sys) {
      const results = await Promise.allSettled(left.map((t) => sys.umount(t, MNT_DETACH)));
      failure = results
        .map((r) => (r.status === "rejected" ? errorMessage(r.reason) : ""))
        .filter((m) => m !== "")
        .join("; ");
    } else {
      const res = await runner.run(tools.umount, ["--lazy", ...left], { timeoutMs: 30_000 });
      if (res.code !== 0) failure = res.stderr.toString("utf8").trim() || "umount failed";
    }
    left = await stillMounted();
    if (failure !== "" && left.length > 0) {
      throw new InternalError(`cannot unmount ${left.join(", ")}: ${failure}`);
    }
  }
  await Promise.all(realFiles.map((f) => fs.rm(f, { force: true })));
}

export interface NetnsEntry {
  name: string;
  path: string;
  mounted: boolean;
}

/** The netns files in `dir` (for recovery and leak checks); none when `dir` does not exist. */
export async function listNetns(
  dir: string,
  mountinfoPath = "/proc/self/mountinfo",
): Promise<NetnsEntry[]> {
  let names: string[];
  let real: string;
  try {
    real = await fs.realpath(dir);
    names = await fs.readdir(real);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return [];
    throw err;
  }
  const mounted = new Set(mountPoints(await fs.readFile(mountinfoPath, "utf8")));
  return names
    .filter((n) => !n.startsWith("."))
    .sort()
    .map((name) => {
      const p = path.join(real, name);
      return { name, path: p, mounted: mounted.has(p) };
    });
}
