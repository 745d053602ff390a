// An exclusive lock held for a process's life, as a file holding the owner's pid. Node has no
// flock(2) in its core, and the npm options are either native addons (fs-ext: a compiler and
// node headers at install, for one syscall) or time-based (proper-lockfile: staleness by mtime,
// which a busy event loop or a paused process lets another daemon steal). A pid file is what
// daemons have long used, and here it is made safe:
// - the file appears atomically with its content (written aside, then link(2)ed into place;
//   link fails with EEXIST if the lock is held), so nobody ever reads a half-written lock;
// - it records the owner's pid and start time (/proc/<pid>/stat field 22), so a pid reused by
//   another process after a crash does not keep a stale lock alive;
// - a stale lock is broken by renaming it aside and checking that the file moved is the very
//   one judged stale (same inode); otherwise it is put back and the attempt starts over.
import { promises as fs } from "node:fs";
import { FailedPreconditionError, errorMessage, isErrno } from "../errors.js";

interface Holder {
  pid: number;
  start: string;
}

/** A process's start time in clock ticks since boot; undefined when there is no such process. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ..." — comm may hold spaces and parentheses; starttime is field 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch (err) {
    if (isErrno(err, "ENOENT") || isErrno(err, "ESRCH")) return undefined;
    throw err;
  }
}

function parseHolder(text: string): Holder | undefined {
  const m = /^(\d+) (\d+)\n?$/.exec(text);
  return m ? { pid: Number(m[1]), start: m[2]! } : undefined;
}

async function alive(h: Holder): Promise<boolean> {
  return (await processStartTime(h.pid)) === h.start;
}

export class PidLock {
  private constructor(
    readonly file: string,
    private readonly content: string,
  ) {}

  /**
   * Takes the lock at `file` (its directory must exist) or throws FailedPreconditionError naming
   * `what` and the pid that holds it.
   */
  static async acquire(file: string, what: string): Promise<PidLock> {
    const start = await processStartTime(process.pid);
    if (start === undefined) throw new Error("cannot read this process's start time");
    const content = `${process.pid} ${start}\n`;
    const aside = `${file}.${process.pid}.tmp`;
    await fs.writeFile(aside, content, { mode: 0o644, flush: true });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await fs.link(aside, file);
          return new PidLock(file, content);
        } catch (err) {
          if (!isErrno(err, "EEXIST")) throw err;
        }
        await PidLock.breakIfStale(file, what);
      }
      throw new FailedPreconditionError(`cannot take the lock ${file} for ${what}`);
    } finally {
      await fs.rm(aside, { force: true });
    }
  }

  /** Throws when a live process holds `file`; removes it when its holder is gone. */
  private static async breakIfStale(file: string, what: string): Promise<void> {
    let text: string;
    let ino: bigint;
    try {
      const fh = await fs.open(file, "r");
      try {
        ino = (await fh.stat({ bigint: true })).ino;
        text = await fh.readFile("utf8");
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (isErrno(err, "ENOENT")) return; // released meanwhile: try again
      throw err;
    }
    const holder = parseHolder(text);
    if (holder !== undefined && (await alive(holder))) {
      throw new FailedPreconditionError(
        `${what} is in use by another berthd (pid ${holder.pid}, lock ${file})`,
      );
    }
    const moved = `${file}.stale.${process.pid}`;
    try {
      await fs.rename(file, moved);
    } catch (err) {
      if (isErrno(err, "ENOENT")) return;
      throw err;
    }
    const st = await fs.lstat(moved, { bigint: true });
    if (st.ino !== ino) {
      // Replaced by a live lock between our read and the rename: give it back.
      await fs.link(moved, file).catch(() => undefined);
    }
    await fs.rm(moved, { force: true });
  }

  /** Removes the lock file if it is still this process's. */
  async release(): Promise<void> {
    try {
      if ((await fs.readFile(this.file, "utf8")) === this.content) await fs.rm(this.file);
    } catch (err) {
      if (!isErrno(err, "ENOENT"))
        throw new Error(`cannot release ${this.file}: ${errorMessage(err)}`);
    }
  }
}
