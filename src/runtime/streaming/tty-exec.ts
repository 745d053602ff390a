// An exec with a terminal. The runtimes hand a new container terminal to whoever listens on
// `--console-socket` by SCM_RIGHTS, which Node cannot receive. Without a console socket, runc and
// crun run `exec -t` in the foreground instead: they copy between the container's terminal and
// their own stdio, and start it at their own terminal's size. So the runtime gets a real pty from
// node-pty: we write the client's stdin to it and read the terminal's output from it. A resize
// is set on the container's terminal and on our pty (container-tty.ts says why both).
import type { IPty } from "@lydell/node-pty";
import type { StreamIO, TerminalSize } from "../../streaming/types.js";
import { InternalError, errorMessage } from "../../errors.js";
import { resizeContainerTty } from "./container-tty.js";
import { endAbandonedExec } from "./exec-files.js";
import type { ExecLaunch } from "./exec-session.js";

export const DEFAULT_TERMINAL_SIZE: TerminalSize = { width: 80, height: 24 };

/** How long the session waits for the client's first size before it starts the process. */
const FIRST_SIZE_WAIT_MS = 1000;

/**
 * Past this much output the client has not taken, reading from the pty pauses (the container's
 * writes then block). Kept well above zero so that little is left in the pty when the process
 * exits: node-pty closes it 200 ms after the exit, whatever is still unread.
 */
const OUTPUT_HIGH_WATER = 1024 * 1024;

export interface SizeStream {
  /** The size to start with (the client's first, or the default). */
  initial: TerminalSize;
  /** Whether `initial` came from the client. */
  given: boolean;
  /** Calls `apply` for each later size until `stop`. */
  follow(apply: (size: TerminalSize) => void): void;
  stop(): void;
}

function valid(s: TerminalSize): boolean {
  return Number.isInteger(s.width) && Number.isInteger(s.height) && s.width > 0 && s.height > 0;
}

/**
 * Splits the client's resize stream into the first size (waited for briefly: kubectl sends it
 * right after connecting) and the rest.
 */
export async function takeSizes(
  resize: AsyncIterable<TerminalSize> | undefined,
): Promise<SizeStream> {
  if (!resize) {
    return {
      initial: DEFAULT_TERMINAL_SIZE,
      given: false,
      follow: () => undefined,
      stop: () => undefined,
    };
  }
  const it = resize[Symbol.asyncIterator]();
  let stopped = false;
  let pending: Promise<IteratorResult<TerminalSize>> | undefined = it.next();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), FIRST_SIZE_WAIT_MS);
  });
  let initial = DEFAULT_TERMINAL_SIZE;
  let given = false;
  const first = await Promise.race([
    pending.catch((): IteratorResult<TerminalSize> => ({ done: true, value: undefined })),
    timeout,
  ]);
  clearTimeout(timer);
  if (first !== "timeout") {
    pending = undefined;
    if (first.done) stopped = true;
    else if (valid(first.value)) {
      initial = first.value;
      given = true;
    }
  }
  return {
    initial,
    given,
    follow(apply) {
      void (async () => {
        try {
          while (!stopped) {
            const next = await (pending ?? it.next());
            pending = undefined;
            if (next.done || stopped) return;
            if (valid(next.value)) apply(next.value);
          }
        } catch {
          // the client's resize stream broke: the session goes on at the last size
        }
      })();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      void Promise.resolve(it.return?.()).catch(() => undefined);
    },
  };
}

/**
 * Runs the runtime's `exec -t` on a pty of `sizes.initial` and resolves with the exit status
 * (128 + n for a signal). When `io.signal` aborts, the exec'd process is SIGKILLed.
 */
export async function runTtyExec(
  launch: ExecLaunch,
  io: StreamIO,
  sizes: SizeStream,
): Promise<number> {
  // node-pty's native addon loads with the first tty exec, not with every berthd.
  const { spawn } = await import("@lydell/node-pty");
  return new Promise((resolve, reject) => {
    let term: IPty;
    try {
      term = spawn(launch.file, launch.args, {
        name: "xterm",
        cols: sizes.initial.width,
        rows: sizes.initial.height,
        cwd: "/",
        // The runtime's own environment; the process's comes from process.json.
        env: { ...process.env },
        encoding: null,
      });
    } catch (err) {
      reject(new InternalError(`cannot run ${launch.file} on a pty: ${errorMessage(err)}`));
      return;
    }
    let exitedResolve: () => void = () => undefined;
    const exited = new Promise<void>((r) => (exitedResolve = r));

    let paused = false;
    const out = io.stdout;
    const onDrain = (): void => {
      paused = false;
      term.resume();
    };
    // With `encoding: null` node-pty hands over Buffers (its typings say string).
    const dataSub = term.onData((chunk: string | Buffer) => {
      if (!out || out.destroyed) return;
      out.write(chunk);
      if (!paused && out.writableLength > OUTPUT_HIGH_WATER) {
        paused = true;
        term.pause();
        out.once("drain", onDrain);
      }
    });
    const swallow = (): void => undefined;
    out?.on("error", swallow);

    // A terminal has no end of input: when the client's stdin ends, the process just gets no
    // more (as with a terminal nobody types into); it ends by itself or with the session.
    const onInput = (chunk: Buffer | string): void => {
      (term.write as (data: string | Buffer) => void)(chunk);
    };
    io.stdin?.on("data", onInput);

    // In order, one at a time: the container's terminal first (crun does not copy sizes into
    // it), then ours (runc copies ours in, which is then no change, and both runtimes pass the
    // SIGWINCH on, by when the size is already the new one).
    let resizing: Promise<void> = Promise.resolve();
    sizes.follow((s) => {
      resizing = resizing.then(async () => {
        await resizeContainerTty(launch.pidFile, s).catch(() => false);
        try {
          term.resize(s.width, s.height);
        } catch {
          // the pty is already closed
        }
      });
    });

    const onAbort = (): void => {
      void endAbandonedExec(launch.pidFile, exited, () => term.kill("SIGKILL"));
    };
    term.onExit(({ exitCode, signal }) => {
      exitedResolve();
      dataSub.dispose();
      sizes.stop();
      io.signal.removeEventListener("abort", onAbort);
      io.stdin?.off("data", onInput);
      out?.off("drain", onDrain);
      out?.off("error", swallow);
      resolve(signal ? 128 + signal : exitCode);
    });
    if (io.signal.aborted) onAbort();
    else io.signal.addEventListener("abort", onAbort, { once: true });
  });
}
