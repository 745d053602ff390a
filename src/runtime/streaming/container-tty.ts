// The size of an exec's terminal inside the container. runc's foreground `exec -t` copies its
// own terminal's size to the container's on SIGWINCH; crun's (1.8) only passes the SIGWINCH on,
// so the process would see the signal but its old size. Setting the size on the container's
// terminal ourselves (through the exec'd process's fd, /proc/PID/fd/N) works for both: the
// kernel then signals the terminal's foreground group, and runc's copy of the same size after it
// changes nothing.
import { execFile } from "node:child_process";
import { readlink } from "node:fs/promises";
import type { TerminalSize } from "../../streaming/types.js";
import { readPidFile } from "../oci/conmon.js";

/** The /proc path of the exec'd process's terminal (its first std fd on a pts), if any. */
export async function containerTtyPath(pid: number): Promise<string | undefined> {
  for (const fd of [0, 1, 2]) {
    const p = `/proc/${pid}/fd/${fd}`;
    const target = await readlink(p).catch(() => "");
    if (target.startsWith("/dev/pts/") || target === "/dev/console") return p;
  }
  return undefined;
}

function stty(ttyPath: string, size: TerminalSize): Promise<void> {
  return new Promise((resolve) => {
    execFile(
      "stty",
      ["-F", ttyPath, "rows", String(size.height), "cols", String(size.width)],
      { timeout: 5000 },
      () => resolve(), // the process may be gone by now: nothing to resize then
    );
  });
}

/**
 * Sets the size of the terminal of the process named in `pidFile`; false when there is no such
 * process (not started yet, or gone) or it has no terminal.
 */
export async function resizeContainerTty(pidFile: string, size: TerminalSize): Promise<boolean> {
  const pid = await readPidFile(pidFile).catch(() => undefined);
  if (pid === undefined) return false;
  const tty = await containerTtyPath(pid);
  if (tty === undefined) return false;
  await stty(tty, size);
  return true;
}
