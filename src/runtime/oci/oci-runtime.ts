// One OCI runtime handler (runc, crun) driven through its command line. Creating a container is
// conmon's job (conmon.ts); everything after that — start, kill, delete, update, exec — is a
// direct runtime call with `--root <handler root>`.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FailedPreconditionError, NotFoundError, isErrno } from "../../errors.js";
import { CommandFailedError, type CommandRunner, type RunResult } from "../../util/command.js";
import { buildExecProcess, type ExecRequest, type ProcessJson } from "./exec-process.js";
import type { RuntimeHandler } from "./runtime-handler.js";
import {
  isNotExistMessage,
  isNotRunningMessage,
  parseRuntimeState,
  type RuntimeState,
  type RuntimeStateDir,
} from "./runtime-state.js";

export interface OciRuntimeOptions {
  cgroupDriver?: "cgroupfs" | "systemd";
  /** Where exec process files are written (a fresh subdirectory per exec). */
  tmpDir?: string;
  /** Limit for each runtime call other than exec; the runtime is SIGKILLed past it. */
  callTimeoutMs?: number;
  /**
   * Runs right before each `exec` of the runtime starts; the exec moves its process into the
   * container's cgroup (berthd: the cgroup warm-up, src/cgroup/migration-warmup.ts).
   */
  beforeExec?: () => void;
}

export interface ExecSyncOptions extends ExecRequest {
  /** The container's own process; read from its bundle's config.json when not given. */
  baseProcess?: ProcessJson;
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  /**
   * The command's exit status (128 + signal number when a signal ended it). When `timedOut`,
   * -1: the command was killed and its status means nothing.
   */
  exitCode: number;
  /**
   * The command outlived the timeout and was SIGKILLed. containerd answers this ExecSync with
   * a DeadlineExceeded error (kubelet then reports a probe timeout); callers should throw
   * DeadlineExceededError rather than return the result.
   */
  timedOut: boolean;
  /** stdout or stderr passed the byte cap and was cut. */
  truncated: boolean;
  /** The caller's signal aborted and the command was killed. */
  cancelled?: boolean;
}

/** 16 MiB per stream, as kubelet's message size and CVE-2022-1708 / CVE-2022-31030 call for. */
export const EXEC_SYNC_MAX_OUTPUT = 16 * 1024 * 1024;

// After the command's own deadline, how long the runtime process gets to report before it is
// SIGKILLed too (it normally exits as soon as its child is killed).
const EXEC_RUNTIME_GRACE_MS = 2000;

export class OciRuntime {
  private readonly systemd: boolean;
  private readonly tmpDir: string;
  private readonly callTimeoutMs: number;
  private readonly beforeExec: () => void;

  constructor(
    readonly handler: RuntimeHandler,
    private readonly runner: CommandRunner,
    opts: OciRuntimeOptions = {},
  ) {
    this.systemd = opts.cgroupDriver === "systemd";
    this.tmpDir = opts.tmpDir ?? os.tmpdir();
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    this.beforeExec = opts.beforeExec ?? (() => undefined);
  }

  /** For callers that start the runtime's exec themselves (execArgs): call right before. */
  prepareExec(): void {
    this.beforeExec();
  }

  /** Flags that go before every subcommand. */
  globalArgs(): string[] {
    return ["--root", this.handler.root, ...(this.systemd ? ["--systemd-cgroup"] : [])];
  }

  private run(args: string[]): Promise<RunResult> {
    return this.runner.run(this.handler.path, [...this.globalArgs(), ...args], {
      timeoutMs: this.callTimeoutMs,
    });
  }

  /** A fresh private dir under the tmp dir, for files handed to the runtime; the caller removes it. */
  private async tempDir(prefix: string): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true });
    return mkdtemp(path.join(this.tmpDir, prefix));
  }

  private where(id: string): RuntimeStateDir {
    return { root: this.handler.root, id };
  }

  private fail(args: string[], res: RunResult): CommandFailedError {
    return new CommandFailedError(this.handler.path, args, res);
  }

  /** The runtime's view of a container, or undefined when it does not know the id. */
  async state(id: string): Promise<RuntimeState | undefined> {
    const args = ["state", id];
    const res = await this.run(args);
    if (res.code === 0) return parseRuntimeState(res.stdout.toString("utf8"));
    if (!res.timedOut && isNotExistMessage(res.stderr.toString("utf8"), this.where(id)))
      return undefined;
    throw this.fail(args, res);
  }

  /** Runs the user process of a created container. */
  async start(id: string): Promise<void> {
    const args = ["start", id];
    const res = await this.run(args);
    if (res.code === 0) return;
    if (!res.timedOut && isNotExistMessage(res.stderr.toString("utf8"), this.where(id))) {
      throw new NotFoundError(`container ${id} does not exist in ${this.handler.name}`);
    }
    throw this.fail(args, res);
  }

  /**
   * Sends `signal` to the container's init (or, with `all`, to every process in it). Resolves
   * when the container has already stopped; NotFoundError when the runtime does not know it.
   */
  async kill(id: string, signal: NodeJS.Signals | number, all = false): Promise<void> {
    const args = ["kill", ...(all ? ["--all"] : []), id, String(signal)];
    const res = await this.run(args);
    if (res.code === 0) return;
    if (res.timedOut) throw this.fail(args, res);
    const stderr = res.stderr.toString("utf8");
    if (isNotExistMessage(stderr, this.where(id))) {
      throw new NotFoundError(`container ${id} does not exist in ${this.handler.name}`);
    }
    if (isNotRunningMessage(stderr)) return;
    throw this.fail(args, res);
  }

  /** Removes the runtime's record (and with `force`, kills what still runs). Idempotent. */
  async delete(id: string, force = false): Promise<void> {
    const args = ["delete", ...(force ? ["--force"] : []), id];
    const res = await this.run(args);
    if (res.code === 0) return;
    if (!res.timedOut && isNotExistMessage(res.stderr.toString("utf8"), this.where(id))) return;
    throw this.fail(args, res);
  }

  /**
   * Applies OCI `linux.resources` (a LinuxResources object or its JSON) to a live container. The
   * JSON goes in a file: crun reads `--resources -` by opening /dev/stdin, which a socket (what
   * node gives a child for stdin) cannot be opened as.
   */
  async update(id: string, resources: object | string): Promise<void> {
    const json = typeof resources === "string" ? resources : JSON.stringify(resources);
    const dir = await this.tempDir("update-");
    try {
      const file = path.join(dir, "resources.json");
      await writeFile(file, json, { mode: 0o600 });
      const args = ["update", "--resources", file, id];
      const res = await this.run(args);
      if (res.code === 0) return;
      if (!res.timedOut && isNotExistMessage(res.stderr.toString("utf8"), this.where(id))) {
        throw new NotFoundError(`container ${id} does not exist in ${this.handler.name}`);
      }
      throw this.fail(args, res);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * The whole argument list of a foreground `exec` of the process in `processFile`; the runtime
   * writes the exec'd process's host pid to `pidFile`. For callers that run it themselves
   * (the streaming exec, with pipes or a pty).
   */
  execArgs(processFile: string, pidFile: string, id: string): string[] {
    return [...this.globalArgs(), "exec", "--process", processFile, "--pid-file", pidFile, id];
  }

  /**
   * Runs a command in a running container and collects its output (each stream capped at
   * `maxOutputBytes`). `timeoutMs` 0 = no limit. On timeout the command (and its process group)
   * is SIGKILLed by the pid the runtime wrote, and the result says `timedOut`.
   * Throws NotFoundError for an unknown container and FailedPreconditionError when it is not
   * running. A command that cannot be started is not an error: the runtime's message comes back
   * as stderr with its non-zero exit status, as CRI-O answers.
   * When `signal` aborts (the client gave up), the command is killed as on a timeout and the
   * result says `cancelled`.
   */
  async execSync(
    id: string,
    opts: ExecSyncOptions,
    timeoutMs: number,
    maxOutputBytes = EXEC_SYNC_MAX_OUTPUT,
    signal?: AbortSignal,
  ): Promise<ExecSyncResult> {
    const st = await this.state(id);
    if (!st) throw new NotFoundError(`container ${id} does not exist in ${this.handler.name}`);
    if (st.status !== "running") {
      throw new FailedPreconditionError(`container ${id} is ${st.status}, not running`);
    }
    const base = opts.baseProcess ?? (await readBundleProcess(st.bundle));
    const proc = buildExecProcess(base, opts);

    const dir = await this.tempDir("exec-");
    const processFile = path.join(dir, "process.json");
    const pidFile = path.join(dir, "pid");
    let timer: NodeJS.Timeout | undefined;
    let killed = false;
    let cancelled = false;
    // The runtime's exec is killed only after the grace: killing it first would leave the
    // command it started running in the container.
    const runtimeAbort = new AbortController();
    let graceTimer: NodeJS.Timeout | undefined;
    const onCancel = () => {
      cancelled = true;
      void killExecProcess(pidFile);
      // The pid file may not be written yet: look once more, then end the runtime's exec.
      setTimeout(() => void killExecProcess(pidFile), 300).unref();
      graceTimer = setTimeout(() => runtimeAbort.abort(), EXEC_RUNTIME_GRACE_MS);
    };
    try {
      await writeFile(processFile, JSON.stringify(proc), { mode: 0o600 });
      this.beforeExec();
      const running = this.runner.run(this.handler.path, this.execArgs(processFile, pidFile, id), {
        maxOutputBytes,
        ...(timeoutMs > 0 ? { timeoutMs: timeoutMs + EXEC_RUNTIME_GRACE_MS } : {}),
        signal: runtimeAbort.signal,
      });
      if (signal?.aborted) onCancel();
      else signal?.addEventListener("abort", onCancel, { once: true });
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          killed = true;
          void killExecProcess(pidFile);
        }, timeoutMs);
      }
      const res = await running;
      const timedOut = killed || res.timedOut;
      return {
        stdout: res.stdout,
        stderr: res.stderr,
        exitCode: timedOut || cancelled ? -1 : exitStatus(res),
        timedOut,
        truncated: res.truncated,
        ...(cancelled ? { cancelled } : {}),
      };
    } finally {
      signal?.removeEventListener("abort", onCancel);
      if (graceTimer) clearTimeout(graceTimer);
      if (timer) clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** The exit status a shell would report: the code, or 128 + the signal number. */
export function exitStatus(res: Pick<RunResult, "code" | "signal">): number {
  if (res.code !== null) return res.code;
  const num = res.signal ? os.constants.signals[res.signal] : undefined;
  return 128 + (num ?? 0);
}

/** The container's own process from its bundle's config.json (undefined when absent). */
export async function readBundleProcess(bundle: string): Promise<ProcessJson | undefined> {
  if (bundle === "") return undefined;
  try {
    const spec: unknown = JSON.parse(await readFile(path.join(bundle, "config.json"), "utf8"));
    if (typeof spec === "object" && spec !== null && "process" in spec) {
      const p = spec.process;
      if (typeof p === "object" && p !== null && !Array.isArray(p)) return p as ProcessJson;
    }
    return undefined;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return undefined;
    throw err;
  }
}

/** The process group id of `pid` from /proc/<pid>/stat, or undefined once it is gone. */
async function processGroup(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid pgrp ..." — comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(fields[2]);
    return Number.isSafeInteger(pgrp) ? pgrp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * SIGKILLs the exec'd process named in `pidFile` (a host pid written by the runtime), and its
 * whole process group when it leads one (or led it and has exited), so children holding the
 * output pipes die too.
 */
export async function killExecProcess(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, "utf8")).trim());
  } catch {
    return; // not started yet; the runtime itself is killed at the grace deadline
  }
  if (!Number.isSafeInteger(pid) || pid <= 1) return;
  const pgrp = await processGroup(pid);
  try {
    // The runtimes make the exec'd process a session (and group) leader. Once it has exited,
    // what it left running (`cmd &`) is still in its group, whose id is its pid: the kernel
    // reuses no pid while a group of that id exists, so a group of that id is still its group.
    process.kill(pgrp === pid || pgrp === undefined ? -pid : pid, "SIGKILL");
  } catch {
    // already gone
  }
}
