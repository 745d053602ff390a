// What an abandoned exec left running may still hold its output pipes: `sh -c 'daemon &'`.
// runc makes the exec'd process a session leader, so its group is found by its pid even after
// it exits; crun (1.8) makes an intermediate process the leader instead, which is gone by then.
// Holding this exec's output is what marks such a process for either runtime, so the session's
// end looks for the holders of the runtime's own stdout and stderr (node gives a child one end
// of a socket pair for each; nothing but this exec holds that end).
import { readdir, readlink } from "node:fs/promises";

/** How many processes are looked at at once. */
const SCAN_BATCH = 64;

/**
 * The kernel's names ("socket:[inode]" or "pipe:[inode]") of a just-spawned child's stdout and
 * stderr, read from /proc while it runs (an OCI runtime's exec lives for many milliseconds).
 */
export async function childOutputs(pid: number | undefined): Promise<string[]> {
  if (pid === undefined) return [];
  const names = await Promise.all(
    [1, 2].map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")),
  );
  return names.filter((n) => n.startsWith("socket:[") || n.startsWith("pipe:["));
}

async function holds(pid: string, pipes: ReadonlySet<string>): Promise<boolean> {
  const dir = `/proc/${pid}/fd`;
  const fds = await readdir(dir).catch((): string[] => []);
  for (const fd of fds) {
    if (pipes.has(await readlink(`${dir}/${fd}`).catch(() => ""))) return true;
  }
  return false;
}

/** The pids (other than berthd's) that hold any of these sockets or pipes open. */
export async function pipeHolders(pipes: readonly string[]): Promise<number[]> {
  const wanted = new Set(pipes);
  if (wanted.size === 0) return [];
  const pids = (await readdir("/proc")).filter(
    (e) => /^[0-9]+$/.test(e) && Number(e) !== process.pid,
  );
  const found: number[] = [];
  for (let i = 0; i < pids.length; i += SCAN_BATCH) {
    const batch = pids.slice(i, i + SCAN_BATCH);
    const held = await Promise.all(batch.map((pid) => holds(pid, wanted)));
    batch.forEach((pid, j) => {
      if (held[j]) found.push(Number(pid));
    });
  }
  return found;
}

/** SIGKILLs every process (but berthd) holding one of these; returns how many. */
export async function killPipeHolders(pipes: readonly string[]): Promise<number> {
  let killed = 0;
  for (const pid of await pipeHolders(pipes)) {
    try {
      process.kill(pid, "SIGKILL");
      killed++;
    } catch {
      // gone already
    }
  }
  return killed;
}
