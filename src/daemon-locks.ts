// Two berthd must never share a CRI socket, a root or a state dir: each takes a lock beside its
// socket and in its root and state dirs before it touches anything else, and holds them for
// its life. A second daemon stops at the first lock with a message naming the path in use.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { BerthConfig } from "./config/config.js";
import { errorMessage } from "./errors.js";
import type { Logger } from "./log.js";
import { PidLock } from "./util/pid-lock.js";

export const LOCK_FILE = "berthd.lock";

export async function lockDaemonPaths(config: BerthConfig): Promise<PidLock[]> {
  const wanted: { dir: string; file: string; what: string; mode: number }[] = [
    {
      dir: path.dirname(config.listen),
      file: `${config.listen}.lock`,
      what: `socket ${config.listen}`,
      mode: 0o755,
    },
    {
      dir: config.root,
      file: path.join(config.root, LOCK_FILE),
      what: `root ${config.root}`,
      mode: 0o711,
    },
    {
      dir: config.state,
      file: path.join(config.state, LOCK_FILE),
      what: `state ${config.state}`,
      mode: 0o711,
    },
  ];
  const held: PidLock[] = [];
  try {
    for (const w of wanted) {
      await fs.mkdir(w.dir, { recursive: true, mode: w.mode });
      // root and state may be one directory; its one lock covers both.
      if (held.some((l) => l.file === w.file)) continue;
      held.push(await PidLock.acquire(w.file, w.what));
    }
    return held;
  } catch (err) {
    await Promise.all(held.map((l) => l.release().catch(() => undefined)));
    throw err;
  }
}

export async function releaseLocks(locks: readonly PidLock[], log: Logger): Promise<void> {
  for (const l of locks) {
    await l.release().catch((err: unknown) => {
      log.warn({ lock: l.file, err: errorMessage(err) }, "cannot release lock");
    });
  }
}
