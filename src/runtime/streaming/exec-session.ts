// An exec without a terminal: the runtime's foreground `exec` with pipes. runc and crun hand
// their own stdio to the exec'd process, so the pipes we give the runtime are the process's
// stdin, stdout and stderr; the runtime exits with the process's status.
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { StreamIO } from "../../streaming/types.js";
import { InternalError } from "../../errors.js";
import { exitStatus } from "../oci/oci-runtime.js";
import { endAbandonedExec } from "./exec-files.js";
import { childOutputs, killPipeHolders } from "./pipe-holders.js";

export interface ExecLaunch {
  /** The runtime binary. */
  file: string;
  /** Its whole argument list (OciRuntime.execArgs). */
  args: string[];
  /** Where the runtime writes the exec'd process's host pid. */
  pidFile: string;
}

const swallow = (): void => undefined;

/**
 * Runs the exec and resolves with its exit status (128 + n for a signal) once the process has
 * exited and its output is delivered. When `io.signal` aborts, the process (and its group) is
 * SIGKILLed and the session ends even if something else still holds the pipes.
 */
export function runPipedExec(launch: ExecLaunch, io: StreamIO): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(launch.file, launch.args, {
      stdio: [io.stdin ? "pipe" : "ignore", io.stdout ? "pipe" : "ignore", "pipe"],
    });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    let closed = false;
    // Named now, while the runtime runs: at the end, who still holds them is what is left over.
    const runtimeOutputs = childOutputs(child.pid);
    const outputs: [Readable | null, Writable | undefined][] = [
      [child.stdout, io.stdout],
      [child.stderr, io.stderr],
    ];
    for (const [from, to] of outputs) {
      if (!from) continue;
      from.on("error", swallow);
      if (to) {
        // A broken client stream must not take the daemon down through pipe()'s re-emit.
        to.on("error", swallow);
        from.pipe(to, { end: false });
      } else {
        from.resume(); // the runtime's own messages when the client asked for no stderr
      }
    }
    if (io.stdin && child.stdin) {
      // The process may exit without reading what we still send (EPIPE).
      child.stdin.on("error", swallow);
      io.stdin.pipe(child.stdin);
    }

    const onAbort = (): void => {
      void (async () => {
        await endAbandonedExec(launch.pidFile, exited, () => child.kill("SIGKILL"));
        // What the process left running may still hold the pipes: end it, then stop waiting.
        if (!closed) {
          await killPipeHolders(await runtimeOutputs).catch(() => 0);
        }
        child.stdin?.destroy();
        child.stdout?.destroy();
        child.stderr?.destroy();
      })();
    };
    const finish = (): void => {
      io.signal.removeEventListener("abort", onAbort);
      if (io.stdin && child.stdin) io.stdin.unpipe(child.stdin);
      for (const [from, to] of outputs) {
        if (from && to) {
          from.unpipe(to);
          to.off("error", swallow);
        }
      }
    };
    child.once("error", (err) => {
      finish();
      reject(new InternalError(`cannot run ${launch.file}: ${err.message}`, { cause: err }));
    });
    child.once("close", (code, signal) => {
      closed = true;
      finish();
      resolve(exitStatus({ code, signal }));
    });
    if (io.signal.aborted) onAbort();
    else io.signal.addEventListener("abort", onAbort, { once: true });
  });
}
