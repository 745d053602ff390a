// The real client, cri-tools' crictl (v1.32.0, from the conformance kit next to the checkout),
// and a way to run it (or any program) to its end in a test.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "../../src/repo-root.js";

export const CRICTL = path.resolve(repoRoot(), "..", "shared", "conformance", "bin", "crictl");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program; `input` is its whole stdin, or with null its stdin stays open until it exits. */
export function run(
  cmd: string,
  args: string[],
  input?: string | null,
  timeoutMs = 20_000,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, stdout, stderr });
    });
    if (input !== null) child.stdin.end(input ?? "");
  });
}

/**
 * `crictl exec -it` under script(1), on a terminal of 30x100 that becomes 40x120 two seconds in;
 * the command in the container prints `stty size` at start and on SIGWINCH, then exits.
 */
export function ttyExecWithResize(socket: string, ctrId: string, transport: string): Promise<Run> {
  const inner =
    "stty rows 30 cols 100; (sleep 2; stty rows 40 cols 120 </dev/tty) & " +
    `${CRICTL} --runtime-endpoint unix://${socket} exec -it --transport ${transport} ${ctrId} ` +
    `sh -c 'busybox stty size; trap "busybox stty size; exit 0" WINCH; while :; do sleep 0.2; done'`;
  // stdin stays open: script(1) would type its EOF into the terminal otherwise.
  return run("script", ["-qec", inner, "/dev/null"], null);
}
