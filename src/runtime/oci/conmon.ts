// Creating a container under conmon, as CRI-O does: conmon runs `<runtime> create`, keeps the
// container's stdio, writes its CRI log, and records its exit status in the exit dir. After
// createContainer the container is CREATED; OciRuntime.start runs it. conmon daemonizes (double
// fork + setsid) and survives berthd.
import { constants as fsConstants } from "node:fs";
import { mkdir, open, readFile, rm, stat } from "node:fs/promises";
import * as path from "node:path";
import { FailedPreconditionError, InternalError, isErrno } from "../../errors.js";
import type { Logger } from "../../log.js";
import { conmonArgs, ctlMessage, parseSyncMessage, type ConmonLogLevel } from "./conmon-args.js";
import type { ConmonLauncher } from "./conmon-launcher.js";
import type { OciRuntime } from "./oci-runtime.js";
import { createFailure, readRuntimeLog, runtimeCause } from "./runtime-create-error.js";
import { cleanRuntimeMessage } from "./runtime-state.js";

/** What creating under conmon needs of the runtime: its binary, root and flags, and delete. */
type ConmonRuntime = Pick<OciRuntime, "handler" | "globalArgs" | "delete">;

export interface CreateContainerOptions {
  id: string;
  name?: string;
  bundle: string;
  /** Where the CRI log goes; its directory must exist (kubelet makes the pod's log dir). */
  logPath: string;
  logSizeMax?: bigint;
  exitDir: string;
  /** Per-container directory (conmon's `exit` and `oom` files, the pid files by default). */
  persistDir: string;
  /** Attach sockets: conmon makes `<socketDir>/<id>`. */
  socketDir: string;
  /** Default `<persistDir>/pidfile`. */
  containerPidFile?: string;
  /** Default `<persistDir>/conmon-pidfile`. */
  conmonPidFile?: string;
  terminal?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  logLevel?: ConmonLogLevel;
  syslog?: boolean;
  /** Extra environment for conmon (and through it the runtime). PATH has a default. */
  env?: Record<string, string>;
  /** How long the runtime's create may take before berth gives up and cleans up. */
  createTimeoutMs?: number;
  /** Runs with the pid of the conmon berth started, before it forks (e.g. to place its cgroup). */
  beforeStart?: (pid: number) => Promise<void>;
}

export interface ConmonDeps {
  conmonPath: string;
  launcher: ConmonLauncher;
  logger: Logger;
}

export interface CreatedContainer {
  /** Host pid of the container's init. */
  pid: number;
  /** Host pid of the conmon that watches it. */
  conmonPid: number;
  containerPidFile: string;
  conmonPidFile: string;
}

/** The runtime's JSON log of its create, in the persist dir (removed with the container). */
const RUNTIME_LOG = "runtime-create.log";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Reads a pid file; undefined when missing or not a pid. */
export async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(file, "utf8")).trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return undefined;
    throw err;
  }
}

/** True while a process with this pid exists (signal 0). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, "EPERM");
  }
}

/**
 * Starts conmon for `opts.id` and waits until the runtime has created the container (or failed).
 * On failure nothing is left behind: the runtime's record is deleted, conmon (if still there) is
 * killed by its pid, the log file it opened and its attach link are removed.
 */
export async function createContainer(
  runtime: ConmonRuntime,
  opts: CreateContainerOptions,
  deps: ConmonDeps,
): Promise<CreatedContainer> {
  const containerPidFile = opts.containerPidFile ?? path.join(opts.persistDir, "pidfile");
  const conmonPidFile = opts.conmonPidFile ?? path.join(opts.persistDir, "conmon-pidfile");
  const runtimeLogPath = path.join(opts.persistDir, RUNTIME_LOG);
  const args = conmonArgs({
    runtimeLogPath,
    id: opts.id,
    bundle: opts.bundle,
    runtimePath: runtime.handler.path,
    runtimeRoot: runtime.handler.root,
    systemdCgroup: runtime.globalArgs().includes("--systemd-cgroup"),
    logPath: opts.logPath,
    exitDir: opts.exitDir,
    persistDir: opts.persistDir,
    containerPidFile,
    conmonPidFile,
    socketDir: opts.socketDir,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.logSizeMax !== undefined ? { logSizeMax: opts.logSizeMax } : {}),
    ...(opts.terminal !== undefined ? { terminal: opts.terminal } : {}),
    ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
    ...(opts.stdinOnce !== undefined ? { stdinOnce: opts.stdinOnce } : {}),
    ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}),
    ...(opts.syslog !== undefined ? { syslog: opts.syslog } : {}),
  });
  // Stale files from an earlier attempt with the same id would be read as this one's.
  await Promise.all([
    ...[opts.exitDir, opts.persistDir, opts.socketDir].map((dir) =>
      mkdir(dir, { recursive: true, mode: 0o700 }),
    ),
    rm(containerPidFile, { force: true }),
    rm(conmonPidFile, { force: true }),
    rm(path.join(opts.exitDir, opts.id), { force: true }),
    rm(path.join(opts.persistDir, "exit"), { force: true }),
    rm(path.join(opts.persistDir, "oom"), { force: true }),
    rm(runtimeLogPath, { force: true }),
  ]);
  const log = deps.logger.child({ container: opts.id });
  log.debug({ conmon: deps.conmonPath, args }, "starting conmon");

  const outcome = await deps.launcher.launch(
    {
      conmonPath: deps.conmonPath,
      args,
      cwd: opts.bundle,
      env: { PATH: DEFAULT_PATH, ...opts.env },
    },
    opts.beforeStart ? { beforeStart: opts.beforeStart } : {},
    opts.createTimeoutMs ?? 60_000,
  );

  let failure: string | undefined;
  let runtimeError: string | undefined;
  let pid = 0;
  if (outcome.exitCode !== 0) {
    failure = `conmon failed (exit status ${String(outcome.exitCode)})${outcome.stderr ? `: ${outcome.stderr}` : ""}`;
  } else if (outcome.syncTimedOut) {
    failure = `container create did not finish within ${opts.createTimeoutMs ?? 60_000} ms`;
  } else if (outcome.syncLine === undefined) {
    failure = "conmon exited without reporting the container's pid";
  } else {
    const msg = parseSyncMessage(outcome.syncLine);
    if (msg.ok) pid = msg.pid;
    else {
      failure = `container create failed: ${cleanRuntimeMessage(msg.message)}`;
      runtimeError = runtimeCause(await readRuntimeLog(runtimeLogPath).catch(() => []));
    }
  }

  const conmonPid = await readPidFile(conmonPidFile);
  if (failure === undefined && conmonPid === undefined) failure = "conmon wrote no pid file";
  if (failure !== undefined || conmonPid === undefined) {
    // The caller gets the runtime's own error alone; everything else it said goes to the log.
    log.warn({ reason: failure, cause: runtimeError }, "container create failed; cleaning up");
    await cleanupFailedCreate(runtime, opts, conmonPid, log);
    if (runtimeError !== undefined) throw createFailure(runtimeError);
    throw new InternalError(failure ?? "container create failed");
  }
  return { pid, conmonPid, containerPidFile, conmonPidFile };
}

async function cleanupFailedCreate(
  runtime: ConmonRuntime,
  opts: CreateContainerOptions,
  conmonPid: number | undefined,
  log: Logger,
): Promise<void> {
  await runtime.delete(opts.id, true).catch((err: unknown) => {
    log.warn({ err }, "runtime delete after a failed create");
  });
  if (conmonPid !== undefined && processAlive(conmonPid)) {
    try {
      process.kill(conmonPid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  await rm(opts.logPath, { force: true }).catch(() => undefined);
  await rm(path.join(opts.socketDir, opts.id), { force: true }).catch(() => undefined);
}

export interface ReopenLogOptions {
  bundle: string;
  logPath: string;
  /** How long to wait for conmon to have the new file in place. */
  timeoutMs?: number;
}

async function inode(file: string): Promise<bigint | undefined> {
  try {
    return (await stat(file, { bigint: true })).ino;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return undefined;
    throw err;
  }
}

/**
 * Asks conmon to reopen the container's log (after kubelet renamed it for rotation) and waits
 * until a new file is at `logPath`. conmon creates `<log>.tmp` and renames it into place, so the
 * new file has a new inode even if nobody renamed the old one. FailedPreconditionError when no
 * conmon listens (the container has exited); then no file is created.
 */
export async function reopenLog(opts: ReopenLogOptions): Promise<void> {
  const before = await inode(opts.logPath);
  const ctl = path.join(opts.bundle, "ctl");
  let fh;
  try {
    // Non-blocking: opening a FIFO for writing with no reader would otherwise hang forever.
    fh = await open(ctl, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    if (isErrno(err, "ENXIO") || isErrno(err, "ENOENT")) {
      throw new FailedPreconditionError(
        "the container's monitor is not running; cannot reopen its log",
      );
    }
    throw err;
  }
  try {
    await fh.write(ctlMessage("reopen-log"));
  } finally {
    await fh.close();
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const now = await inode(opts.logPath);
    if (now !== undefined && now !== before) return;
    if (Date.now() > deadline) {
      throw new InternalError(`conmon did not reopen ${opts.logPath} in time`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
