// What the two streaming execs (pipes and pty) share: the process file and pid file in a fresh
// temp dir, and how a session that the client abandoned ends its process.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readPidFile } from "../oci/conmon.js";
import type { ProcessJson } from "../oci/exec-process.js";
import { killExecProcess } from "../oci/oci-runtime.js";

export interface ExecFiles {
  dir: string;
  processFile: string;
  pidFile: string;
  remove(): Promise<void>;
}

export async function writeExecFiles(tmpDir: string, proc: ProcessJson): Promise<ExecFiles> {
  await mkdir(tmpDir, { recursive: true });
  const dir = await mkdtemp(path.join(tmpDir, "exec-"));
  const processFile = path.join(dir, "process.json");
  try {
    await writeFile(processFile, JSON.stringify(proc), { mode: 0o600 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    processFile,
    pidFile: path.join(dir, "pid"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** How long an abandoned exec waits for the runtime to name the process it started. */
const PID_WAIT_MS = 5000;
/** How long the runtime gets to exit once its process is dead, before it is SIGKILLed too. */
const RUNTIME_EXIT_GRACE_MS = 5000;

/**
 * Ends an exec whose client went away: SIGKILLs the exec'd process (and its process group) by
 * the pid the runtime wrote, then waits for the foreground runtime to exit and SIGKILLs it past
 * a grace. `exited` settles when the runtime has exited.
 */
export async function endAbandonedExec(
  pidFile: string,
  exited: Promise<unknown>,
  killRuntime: () => void,
): Promise<void> {
  let done = false;
  const mark = (): void => {
    done = true;
  };
  exited.then(mark, mark);
  const deadline = Date.now() + PID_WAIT_MS;
  // The runtime writes the pid file only once the process runs; until then there is nothing
  // to kill but the runtime, which would leave a half-started process behind.
  while (!done) {
    if ((await readPidFile(pidFile).catch(() => undefined)) !== undefined) {
      await killExecProcess(pidFile);
      break;
    }
    if (Date.now() > deadline) break;
    await sleep(20);
  }
  if (done) return;
  const timer = setTimeout(killRuntime, RUNTIME_EXIT_GRACE_MS);
  try {
    await exited.catch(() => undefined);
  } finally {
    clearTimeout(timer);
  }
}
