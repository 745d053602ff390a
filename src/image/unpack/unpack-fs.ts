// The file system calls the layer writer makes, in two flavours with one async shape. `asyncFs`
// goes through libuv's thread pool like any Node fs promise: right on the daemon's main thread,
// which must not block. `syncFs` makes each call directly: right in the unpack worker
// (unpack-worker.ts), whose thread does nothing else, where a thread-pool round trip per call
// (several per tar entry) would cost more than the call itself.
import * as fs from "node:fs";
import type { Stats } from "node:fs";
import { promisify } from "node:util";
import { isErrno } from "../../errors.js";

export interface UnpackFs {
  /** undefined when nothing is there (ENOENT). */
  lstat(p: string): Promise<Stats | undefined>;
  mkdir(p: string, mode: number): Promise<void>;
  chmod(p: string, mode: number): Promise<void>;
  lchown(p: string, uid: number, gid: number): Promise<void>;
  lutimes(p: string, time: Date): Promise<void>;
  symlink(target: string, p: string): Promise<void>;
  link(target: string, p: string): Promise<void>;
  unlink(p: string): Promise<void>;
  /** Removes a directory tree. */
  rmTree(p: string): Promise<void>;
  /** A file descriptor. */
  open(p: string, flags: number, mode?: number): Promise<number>;
  writev(fd: number, bufs: readonly Buffer[]): Promise<number>;
  fchown(fd: number, uid: number, gid: number): Promise<void>;
  fchmod(fd: number, mode: number): Promise<void>;
  futimes(fd: number, time: Date): Promise<void>;
  close(fd: number): Promise<void>;
}

function orUndefined(err: unknown): undefined {
  if (isErrno(err, "ENOENT")) return undefined;
  throw err;
}

const writevCb = promisify(
  (fd: number, bufs: readonly Buffer[], cb: (err: Error | null, n: number) => void) =>
    fs.writev(fd, bufs, (err, n) => cb(err, n)),
);

export const asyncFs: UnpackFs = {
  lstat: (p) => fs.promises.lstat(p).catch(orUndefined),
  mkdir: async (p, mode) => {
    await fs.promises.mkdir(p, { mode });
  },
  chmod: (p, mode) => fs.promises.chmod(p, mode),
  lchown: (p, uid, gid) => fs.promises.lchown(p, uid, gid),
  lutimes: (p, t) => fs.promises.lutimes(p, t, t),
  symlink: (target, p) => fs.promises.symlink(target, p),
  link: (target, p) => fs.promises.link(target, p),
  unlink: (p) => fs.promises.unlink(p),
  rmTree: (p) => fs.promises.rm(p, { recursive: true, force: true }),
  open: promisify((p: string, flags: number, mode: number | undefined, cb: OpenCb) =>
    fs.open(p, flags, mode, cb),
  ),
  writev: (fd, bufs) => writevCb(fd, bufs),
  fchown: promisify(fs.fchown),
  fchmod: promisify(fs.fchmod),
  futimes: (fd, t) => promisify(fs.futimes)(fd, t, t),
  close: promisify(fs.close),
};

type OpenCb = (err: NodeJS.ErrnoException | null, fd: number) => void;

/** Runs `fn` now and hands back its result (or throw) as a settled promise. */
function now<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

export const syncFs: UnpackFs = {
  lstat: (p) => now(() => fs.lstatSync(p, { throwIfNoEntry: false })),
  mkdir: (p, mode) => now(() => void fs.mkdirSync(p, { mode })),
  chmod: (p, mode) => now(() => fs.chmodSync(p, mode)),
  lchown: (p, uid, gid) => now(() => fs.lchownSync(p, uid, gid)),
  lutimes: (p, t) => now(() => fs.lutimesSync(p, t, t)),
  symlink: (target, p) => now(() => fs.symlinkSync(target, p)),
  link: (target, p) => now(() => fs.linkSync(target, p)),
  unlink: (p) => now(() => fs.unlinkSync(p)),
  rmTree: (p) => now(() => fs.rmSync(p, { recursive: true, force: true })),
  open: (p, flags, mode) => now(() => fs.openSync(p, flags, mode)),
  writev: (fd, bufs) => now(() => fs.writevSync(fd, bufs)),
  fchown: (fd, uid, gid) => now(() => fs.fchownSync(fd, uid, gid)),
  fchmod: (fd, mode) => now(() => fs.fchmodSync(fd, mode)),
  futimes: (fd, t) => now(() => fs.futimesSync(fd, t, t)),
  close: (fd) => now(() => fs.closeSync(fd)),
};
