// A runtime handler (crun, runc, ...) and the startup probe that decides whether it can run
// containers on this host. `--version` is not enough: crun 1.8 starts fine and then refuses every
// container on a hybrid cgroup v1/v2 host ("cgroups in hybrid mode not supported"). So the probe
// creates and deletes one real throwaway container, which takes ~0.2 s with runc.
import { randomBytes } from "node:crypto";
import { copyFile, link, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { errorMessage } from "../../errors.js";
import type { CommandRunner } from "../../util/command.js";
import { removeCgroupPath } from "../../cgroup/remove.js";
import { cleanRuntimeMessage } from "./runtime-state.js";

export interface RuntimeHandler {
  name: string;
  /** The runtime binary. */
  path: string;
  /** The runtime's own state directory (`--root`). */
  root: string;
}

export type ProbeResult =
  { ok: true; reason: ""; version: string } | { ok: false; reason: string; version: string };

export interface ProbeOptions {
  /** A statically linked binary to put at /bin/sh in the probe rootfs (runc checks it exists). */
  staticBinary?: string;
  cgroupDriver?: "cgroupfs" | "systemd";
  /** Per runtime call; the whole probe normally takes well under a second. */
  timeoutMs?: number;
}

const DEFAULT_STATIC_BINARY = "/usr/bin/busybox";

/** The smallest config.json that makes a runtime set up namespaces and cgroups. */
export function probeConfig(cgroupsPath: string): Record<string, unknown> {
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["/bin/sh", "-c", "exit 0"],
      env: ["PATH=/bin"],
      cwd: "/",
    },
    root: { path: "rootfs", readonly: true },
    // runc closes inherited fds through /proc/self/fd, so the container needs a /proc.
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }],
      cgroupsPath,
      resources: { devices: [{ allow: false, access: "rwm" }] },
    },
  };
}

async function placeBinary(src: string, dest: string): Promise<void> {
  try {
    await link(src, dest); // no copy when tmpDir is on the same filesystem
  } catch {
    await copyFile(src, dest);
  }
}

/** First line of `--version` output, e.g. "runc version 1.1.5+ds1". */
export function firstLine(text: string): string {
  return text.split("\n", 1)[0]?.trim() ?? "";
}

async function runtimeVersion(
  handler: RuntimeHandler,
  runner: CommandRunner,
  timeoutMs: number,
): Promise<{ version: string } | { reason: string }> {
  try {
    const res = await runner.run(handler.path, ["--version"], { timeoutMs });
    if (res.code !== 0) {
      const why = res.stderr.toString("utf8").trim() || `exit status ${String(res.code)}`;
      return { reason: `${handler.path} --version failed: ${why}` };
    }
    return { version: firstLine(res.stdout.toString("utf8")) };
  } catch (err) {
    return { reason: errorMessage(err) };
  }
}

/**
 * The directories the probe's rootfs needs: /bin for the shell, every mount point of the config,
 * and /dev, where a runtime makes the default device nodes (crun opens it and fails without it;
 * runc creates it itself).
 */
export const PROBE_ROOTFS_DIRS = ["bin", "proc", "dev"] as const;

/** The probe's bundle: config.json and a rootfs with only `binary` at /bin/sh. */
export async function writeProbeBundle(
  bundle: string,
  cgroupsPath: string,
  binary: string,
): Promise<void> {
  for (const d of PROBE_ROOTFS_DIRS) {
    await mkdir(path.join(bundle, "rootfs", d), { recursive: true, mode: 0o755 });
  }
  await placeBinary(binary, path.join(bundle, "rootfs/bin/sh"));
  await writeFile(path.join(bundle, "config.json"), JSON.stringify(probeConfig(cgroupsPath)));
}

const PROBE_PREFIX = "berth-probe-";

/**
 * Deletes what an earlier probe left when its berthd was killed in the middle: the throwaway
 * container in the handler's root and its cgroup parent. The runtime keeps one directory per
 * container in its root, named by the id, so no `list` call is needed to find them.
 */
async function sweepEarlierProbes(
  handler: RuntimeHandler,
  runner: CommandRunner,
  globalArgs: string[],
  systemd: boolean,
  timeoutMs: number,
): Promise<void> {
  const names = await readdir(handler.root).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => n.startsWith(PROBE_PREFIX))
      .map(async (id) => {
        await runner
          .run(handler.path, [...globalArgs, "delete", "--force", id], { timeoutMs })
          .catch(() => undefined);
        if (!systemd) await removeCgroupPath(`/${id}/${id}`).catch(() => undefined);
      }),
  );
}

/**
 * Decides whether `handler` can run containers here: its binary runs, and a real create + delete
 * of a throwaway container in a temporary cgroup succeeds. Never throws; cleans up after itself
 * (the container, the cgroup directories, the bundle).
 */
export async function probeHandler(
  handler: RuntimeHandler,
  runner: CommandRunner,
  tmpDir: string,
  opts: ProbeOptions = {},
): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const tag = randomBytes(6).toString("hex");
  const id = `${PROBE_PREFIX}${tag}`;
  const systemd = opts.cgroupDriver === "systemd";
  const cgroupsPath = systemd ? `system.slice:berth-probe:${tag}` : `/${id}/${id}`;
  const globalArgs = ["--root", handler.root, ...(systemd ? ["--systemd-cgroup"] : [])];
  const bundle = path.join(tmpDir, id);
  let version = "";
  let created = false;
  try {
    await sweepEarlierProbes(handler, runner, globalArgs, systemd, timeoutMs);
    // The version check and the bundle are independent; doing both at once saves a round trip.
    const [ver] = await Promise.all([
      runtimeVersion(handler, runner, timeoutMs),
      writeProbeBundle(bundle, cgroupsPath, opts.staticBinary ?? DEFAULT_STATIC_BINARY),
    ]);
    if ("reason" in ver) return { ok: false, reason: ver.reason, version };
    version = ver.version;
    const errFile = path.join(bundle, "create.err");
    // `create` hands its own stdio to the container's init, which keeps them open until the
    // container is deleted; pipes would never reach EOF. So the shell points them at files.
    created = true; // even a failed create may leave state behind; delete --force is cheap
    const res = await runner.run(
      "/bin/sh",
      [
        "-c",
        'exec "$@" </dev/null >/dev/null 2>"$BERTH_PROBE_ERR"',
        "sh",
        handler.path,
        ...globalArgs,
        "create",
        "--bundle",
        bundle,
        id,
      ],
      { timeoutMs, env: { ...process.env, BERTH_PROBE_ERR: errFile } },
    );
    if (res.code !== 0) {
      const stderr = await readFile(errFile, "utf8").catch(() => "");
      const why = cleanRuntimeMessage(stderr) || `exit status ${String(res.code)}`;
      return { ok: false, reason: `cannot create a container: ${why}`, version };
    }
    return { ok: true, reason: "", version };
  } catch (err) {
    return { ok: false, reason: `probe failed: ${errorMessage(err)}`, version };
  } finally {
    if (created) {
      await runner
        .run(handler.path, [...globalArgs, "delete", "--force", id], { timeoutMs })
        .catch(() => undefined);
    }
    if (!systemd) await removeCgroupPath(cgroupsPath).catch(() => undefined);
    await rm(bundle, { recursive: true, force: true });
  }
}
