// Waiting for a process berth did not spawn (a conmon from an earlier step or an earlier
// berthd) to be gone, by polling signal 0: there is no child handle to wait on.

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Resolves true once `pid` is gone, false if it is still there after `ms`. */
export async function waitProcessGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
