// Starting conmon needs what the CommandRunner does not offer: two extra descriptors (the sync and
// start pipes), a detached session, and no stdio tied to berthd (conmon must outlive it). So it
// has its own small injectable seam; tests can fake it, the real one uses child_process.
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { InternalError } from "../../errors.js";

export interface ConmonLaunch {
  conmonPath: string;
  args: string[];
  /** conmon's working directory (its `oom` marker file lands here). */
  cwd: string;
  /** The whole environment; the launcher adds `_OCI_SYNCPIPE` and `_OCI_STARTPIPE`. */
  env: Record<string, string>;
}

export interface LaunchHooks {
  /** Called with the pid of the conmon we started, before it may fork (e.g. to set its cgroup). */
  beforeStart?: (pid: number) => Promise<void>;
}

export interface LaunchOutcome {
  /** Exit status of the conmon we started (the daemonized one lives on); null = signal. */
  exitCode: number | null;
  /** What that process wrote to stderr before it detached (conmon's own usage errors). */
  stderr: string;
  /** The first line on the sync pipe, or undefined when none came before EOF or the timeout. */
  syncLine: string | undefined;
  syncTimedOut: boolean;
}

export interface ConmonLauncher {
  launch(l: ConmonLaunch, hooks: LaunchHooks, syncTimeoutMs: number): Promise<LaunchOutcome>;
}

const SYNC_FD = 3;
const START_FD = 4;
const MAX_STDERR = 64 * 1024;

/** Reads up to the first newline (or EOF) of a stream, with a deadline. */
function firstLine(
  stream: Readable,
  timeoutMs: number,
): Promise<{ line?: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    let buf = "";
    let done = false;
    const finish = (r: { line?: string; timedOut: boolean }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.off("data", onData);
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl >= 0) finish({ line: buf.slice(0, nl), timedOut: false });
      else if (buf.length > MAX_STDERR) finish({ line: buf, timedOut: false });
    };
    const timer = setTimeout(() => finish({ timedOut: true }), timeoutMs);
    stream.on("data", onData);
    const atEnd = (): void =>
      finish(buf === "" ? { timedOut: false } : { line: buf, timedOut: false });
    stream.once("end", atEnd);
    stream.once("close", atEnd);
    stream.once("error", atEnd);
  });
}

export class ProcessConmonLauncher implements ConmonLauncher {
  /** `beforeSpawn` runs right before each conmon is started (berthd: migration-warmup.ts). */
  constructor(private readonly beforeSpawn: () => void = () => undefined) {}

  async launch(l: ConmonLaunch, hooks: LaunchHooks, syncTimeoutMs: number): Promise<LaunchOutcome> {
    this.beforeSpawn();
    const child = spawn(l.conmonPath, l.args, {
      cwd: l.cwd,
      env: { ...l.env, _OCI_SYNCPIPE: String(SYNC_FD), _OCI_STARTPIPE: String(START_FD) },
      // A new session: no terminal signals from berthd's process group reach conmon.
      detached: true,
      stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
    });
    const syncPipe = child.stdio[SYNC_FD] as Readable | null;
    const startPipe = child.stdio[START_FD] as Writable | null;
    const stderrPipe = child.stderr;
    const release = (): void => {
      // The daemonized conmon keeps the sync pipe open for its whole life: drop our ends so
      // berthd's event loop does not wait on it.
      syncPipe?.destroy();
      startPipe?.destroy();
      stderrPipe?.destroy();
      child.unref();
    };
    if (!syncPipe || !startPipe || !stderrPipe) {
      release();
      throw new InternalError("conmon was started without its pipes");
    }
    let stderr = "";
    stderrPipe.on("data", (c: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += c.toString("utf8");
    });
    stderrPipe.on("error", () => undefined);
    startPipe.on("error", () => undefined);
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once("error", (e) =>
        reject(new InternalError(`cannot run ${l.conmonPath}: ${e.message}`, { cause: e })),
      );
      child.once("exit", (code) => resolve(code));
    });
    exited.catch(() => undefined); // awaited below; this only keeps an early error from being "unhandled"
    const sync = firstLine(syncPipe, syncTimeoutMs);
    try {
      if (child.pid === undefined) {
        await exited; // rejects with the spawn error
        throw new InternalError(`cannot run ${l.conmonPath}`);
      }
      if (hooks.beforeStart) await hooks.beforeStart(child.pid);
      startPipe.end(Buffer.from([0]));
      const exitCode = await exited;
      if (exitCode !== 0) {
        // Nothing forked; give the stderr pipe a moment to drain the usage message.
        await new Promise<void>((r) => {
          const t = setTimeout(r, 1000);
          stderrPipe.once("close", () => {
            clearTimeout(t);
            r();
          });
        });
      }
      const { line, timedOut } = await sync;
      return { exitCode, stderr: stderr.trim(), syncLine: line, syncTimedOut: timedOut };
    } finally {
      release();
    }
  }
}
