// Every external program berth drives (runc, crun, conmon, CNI plugins, mount helpers) goes
// through one injected CommandRunner, so tests can record or fake the calls. The runner also
// carries the mount(2) calls that spare a mount(8) process (mount-calls.ts), where it has them.
import { spawn } from "node:child_process";
import { BerthError, InternalError } from "../errors.js";
import { type MountCalls, syscallMounts } from "./mount-calls.js";

export interface RunOptions {
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the child with SIGKILL after this long; the result then has `timedOut`. */
  timeoutMs?: number;
  /** Keep at most this many bytes of each of stdout and stderr (the rest is counted, dropped). */
  maxOutputBytes?: number;
  /**
   * The caller's cancellation (a gRPC call's): when it aborts, the child is SIGKILLed and the
   * result has `cancelled`. A program that must be stopped some other way (a process runc
   * exec'd into a container) is the caller's to end first.
   */
  signal?: AbortSignal;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  /** True when stdout or stderr passed maxOutputBytes and was cut. */
  truncated: boolean;
  /** True when the child was killed because opts.signal aborted. */
  cancelled?: boolean;
}

export interface CommandRunner {
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /**
   * mount(2) and umount2(2) without a process (mount-calls.ts), where this runner and host
   * offer them; callers start mount(8) and umount(8) through run() otherwise.
   */
  mounts?(): MountCalls | undefined;
}

const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;

class Capped {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    const room = this.max - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }
  buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export class ProcessRunner implements CommandRunner {
  /** `directMounts: false` keeps mounts in mount(8) and umount(8) processes. */
  constructor(private readonly opts: { directMounts?: boolean } = {}) {}

  mounts(): MountCalls | undefined {
    return this.opts.directMounts === false ? undefined : syscallMounts();
  }

  run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        stdio: ["pipe", "pipe", "pipe"],
      });
      const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
      const out = new Capped(max);
      const err = new Capped(max);
      let timedOut = false;
      let cancelled = false;
      const onAbort = () => {
        cancelled = true;
        child.kill("SIGKILL");
      };
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener("abort", onAbort, { once: true });
      const timer =
        opts.timeoutMs !== undefined && opts.timeoutMs > 0
          ? setTimeout(() => {
              timedOut = true;
              child.kill("SIGKILL");
            }, opts.timeoutMs)
          : undefined;
      child.stdout.on("data", (c: Buffer) => out.push(c));
      child.stderr.on("data", (c: Buffer) => err.push(c));
      child.on("error", (e) => {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        reject(new InternalError(`cannot run ${file}: ${e.message}`, { cause: e }));
      });
      child.on("close", (code, signal) => {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        resolve({
          code,
          signal,
          stdout: out.buffer(),
          stderr: err.buffer(),
          timedOut,
          truncated: out.truncated || err.truncated,
          ...(cancelled ? { cancelled } : {}),
        });
      });
      child.stdin.on("error", () => undefined); // a child that exits without reading stdin
      if (opts.input !== undefined) child.stdin.end(opts.input);
      else child.stdin.end();
    });
  }
}

export class CommandFailedError extends BerthError {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly result: RunResult,
  ) {
    const why = result.timedOut
      ? "timed out"
      : result.cancelled
        ? "cancelled"
        : result.signal
          ? `killed by ${result.signal}`
          : `exit status ${String(result.code)}`;
    const detail = result.stderr.toString("utf8").trim() || result.stdout.toString("utf8").trim();
    super("INTERNAL", `${file} ${args[0] ?? ""}: ${why}${detail ? `: ${detail}` : ""}`);
  }
}

/** Runs a command and throws CommandFailedError unless it exits 0. */
export async function runChecked(
  runner: CommandRunner,
  file: string,
  args: readonly string[],
  opts?: RunOptions,
): Promise<RunResult> {
  const result = await runner.run(file, args, opts);
  if (result.code !== 0) throw new CommandFailedError(file, args, result);
  return result;
}
