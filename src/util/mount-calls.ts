// mount(2) and umount2(2) called from berthd itself, through koffi (a foreign-function library
// with prebuilt binaries), instead of starting mount(8) or umount(8) for each: a process costs
// 3-5 ms here (node's fork of a 50 MB daemon, util-linux's start), the call 0.1 ms. containerd
// and CRI-O make these calls directly too.
//
// The calls run on libuv's thread pool, not on the event loop: unmounting an overlay syncs its
// upper filesystem (the host's), which can take long while a pull is writing. errno is a
// thread's own, and a koffi async call does not return it, so a call that fails is made once
// more on the event loop to learn why (a failing mount or umount returns at once); if that one
// succeeds (the obstacle went away in the microseconds between), so does the call, and only
// then does a call's work run on the event loop.
//
// When koffi cannot load (another libc or architecture), syscallMounts() is undefined and the
// callers start mount(8) and umount(8) as before.
import { constants } from "node:os";
import type * as KoffiModule from "koffi" with { "resolution-mode": "import" };

/** mount(2) flags (linux/mount.h). */
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
/** umount2(2): detach now, finish when the mount is no longer busy (umount --lazy). */
export const MNT_DETACH = 2;

export interface MountCalls {
  mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void>;
  umount(target: string, flags: number): Promise<void>;
}

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, n]) => [n, name]),
);

/** A failed mount(2) or umount2(2); `code` is the errno's name (EBUSY, EINVAL, ...). */
export class MountCallError extends Error {
  readonly code: string;
  constructor(
    readonly call: string,
    readonly target: string,
    readonly errno: number,
  ) {
    const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
    super(`${call} ${target}: ${code}`);
    this.name = "MountCallError";
    this.code = code;
  }
}

type Native<A extends unknown[]> = ((...args: A) => number) & {
  async(...args: [...A, (err: unknown, res: number) => void]): void;
};

type MountArgs = [string, string, string, number, string];
type UmountArgs = [string, number];

/**
 * koffi refuses more than 256 async calls at once ("Too many asynchronous calls are running"),
 * and the thread pool runs 4: a burst of pods (each stop unmounts a few things, and each overlay
 * umount may wait on a sync) queues here instead of failing.
 */
export const MAX_CALLS_IN_FLIGHT = 32;
let inFlight = 0;
const queued: (() => void)[] = [];

async function inTurn<T>(run: () => Promise<T>): Promise<T> {
  if (inFlight < MAX_CALLS_IN_FLIGHT) inFlight++;
  else await new Promise<void>((resolve) => queued.push(resolve)); // the slot is handed over
  try {
    return await run();
  } finally {
    const next = queued.shift();
    if (next) next();
    else inFlight--;
  }
}

/** Calls in flight and queued (tests). */
export function mountCallLoad(): { inFlight: number; queued: number } {
  return { inFlight, queued: queued.length };
}

/** Runs `fn` on the thread pool; on -1, once more here for its errno. */
function call<A extends unknown[]>(
  koffi: typeof KoffiModule,
  fn: Native<A>,
  name: string,
  target: string,
  args: A,
): Promise<void> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, res: number) => {
      if (err) {
        reject(err instanceof Error ? err : new Error(`${name} ${target}: koffi call failed`));
        return;
      }
      if (res === 0) {
        resolve();
        return;
      }
      koffi.errno(0);
      if (fn(...args) === 0) resolve();
      else reject(new MountCallError(name, target, koffi.errno()));
    });
  });
}

function load(): MountCalls {
  // Loaded at the first mount, not at the start: an idle daemon does not carry it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require("koffi") as typeof KoffiModule;
  const libc = koffi.load("libc.so.6");
  const mount = libc.func(
    "int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)",
  ) as Native<MountArgs>;
  const umount2 = libc.func("int umount2(const char *target, int flags)") as Native<UmountArgs>;
  return {
    mount: (source, target, fstype, flags, data) =>
      inTurn(() => call(koffi, mount, "mount", target, [source, target, fstype, flags, data])),
    umount: (target, flags) =>
      inTurn(() => call(koffi, umount2, "umount", target, [target, flags])),
  };
}

let loaded: MountCalls | null | undefined;
let loadError: string | undefined;

/** The direct calls, loaded on first use; undefined when koffi or libc cannot be loaded. */
export function syscallMounts(): MountCalls | undefined {
  if (loaded === undefined) {
    try {
      loaded = load();
    } catch (err) {
      loaded = null;
      loadError = err instanceof Error ? err.message : String(err);
    }
  }
  return loaded ?? undefined;
}

/** Why syscallMounts() is undefined, once it has been asked. */
export function syscallMountsError(): string | undefined {
  return loadError;
}
