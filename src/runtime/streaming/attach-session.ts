// Attaching to a container's own stdio through conmon. Facts from conmon 2.1.6 (src/conn_sock.c,
// src/ctr_stdio.c, src/ctrl.c, src/utils.h), which CRI-O's attach also relies on:
// - `<socket-dir>/<id>` is a symlink to the bundle; `attach` in it is a SOCK_SEQPACKET socket.
//   Every client gets all output from the moment it connects.
// - Each packet from conmon is one read of the container's output, prefixed by one byte: 2 for
//   stdout, 3 for stderr (stdpipe_t). With a terminal everything is stdout.
// - What a client sends goes, unframed, to the container's stdin (the terminal with a tty); conmon
//   reads at most 32 KiB per packet (CONN_SOCK_BUF_SIZE), so larger writes are split.
// - When a client shuts down its sending side or goes away, conmon closes the container's stdin
//   unless it was started with `--leave-stdin-open` (i.e. unless the container has stdin without
//   stdin_once). So ending an attach to a stdin_once container closes its stdin, by design.
// - When the container exits, conmon closes every client: the client reads EOF.
// - Resizes go to the `ctl` FIFO in the bundle as "1 <height> <width>\n".
import { constants as fsConstants } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import type { StreamIO } from "../../streaming/types.js";
import { FailedPreconditionError, ResourceExhaustedError, errorMessage } from "../../errors.js";
import { ctlMessage } from "../oci/conmon-args.js";
import { SeqpacketClient } from "./seqpacket.js";
import { takeSizes } from "./tty-exec.js";

const STDOUT_PIPE = 2;
const STDERR_PIPE = 3;
const MAX_STDIN_PACKET = 32 * 1024;
/**
 * conmon's output cannot be paused per client (it blocks on a client that does not read, and
 * this socket binding reads whatever comes). A client that falls this far behind is detached
 * rather than buffered without bound.
 */
const MAX_UNSENT_OUTPUT = 16 * 1024 * 1024;

export interface AttachTarget {
  containerId: string;
  /** `<socket-dir>/<id>/attach`. */
  socketPath: string;
  /** `<bundle>/ctl`. */
  ctlPath: string;
  /** The container was created with a terminal. */
  tty: boolean;
  /**
   * The container keeps its stdin open across attaches (stdin without stdin_once, no tty): the
   * session then ends when the client's stdin ends, as CRI-O's does.
   */
  detachOnStdinEnd: boolean;
}

async function isSocket(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isSocket();
  } catch {
    return false;
  }
}

/** Attaches until the container exits, the client's stdin ends (see above) or the signal aborts. */
export async function runAttach(t: AttachTarget, io: StreamIO): Promise<void> {
  if (io.signal.aborted) return;
  // Checked first: a connect to a path that is no socket fails with no useful reason.
  if (!(await isSocket(t.socketPath))) {
    throw new FailedPreconditionError(`container ${t.containerId} has no monitor to attach to`);
  }
  let settle: (err?: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  let finished = false;
  const route = (packet: Buffer): void => {
    if (packet.length < 2) return;
    const out =
      packet[0] === STDOUT_PIPE ? io.stdout : packet[0] === STDERR_PIPE ? io.stderr : undefined;
    if (!out || out.destroyed) return;
    out.write(packet.subarray(1));
    if (out.writableLength > MAX_UNSENT_OUTPUT) {
      finish(
        new ResourceExhaustedError(
          `attach client fell more than ${MAX_UNSENT_OUTPUT} bytes behind the container's output`,
        ),
      );
    }
  };
  let client: SeqpacketClient;
  try {
    client = await SeqpacketClient.connect(t.socketPath, {
      onPacket: route,
      onEnd: () => finish(),
      onError: (err) => finish(err),
    });
  } catch (err) {
    throw new FailedPreconditionError(
      `cannot attach to container ${t.containerId}: ${errorMessage(err)}`,
      { cause: err },
    );
  }

  const swallow = (): void => undefined;
  io.stdout?.on("error", swallow);
  io.stderr?.on("error", swallow);

  // stdin: one packet at a time, the client's stream paused until the kernel has it. Sends are
  // chained: a stream emits `end` once its last chunk is handed out, even while paused, so the
  // shutdown must queue behind the packets still being sent.
  const stdin = io.stdin;
  let sending = Promise.resolve();
  const onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    stdin?.pause();
    sending = sending.then(async () => {
      for (let off = 0; off < buf.length && !client.isClosed; off += MAX_STDIN_PACKET) {
        await client.send(buf.subarray(off, off + MAX_STDIN_PACKET)).catch(() => undefined);
      }
      if (!finished) stdin?.resume();
    });
  };
  const onStdinEnd = (): void => {
    sending = sending.then(() => {
      client.shutdownSend();
      if (t.detachOnStdinEnd) finish();
    });
  };
  stdin?.on("data", onData);
  stdin?.once("end", onStdinEnd);

  const onAbort = (): void => finish();
  let ctl: FileHandle | undefined;
  let sizes: Awaited<ReturnType<typeof takeSizes>> | undefined;
  function finish(err?: Error): void {
    if (finished) return;
    finished = true;
    io.signal.removeEventListener("abort", onAbort);
    stdin?.off("data", onData);
    stdin?.off("end", onStdinEnd);
    sizes?.stop();
    void ctl?.close().catch(() => undefined);
    client.close();
    io.stdout?.off("error", swallow);
    io.stderr?.off("error", swallow);
    settle(err);
  }
  if (io.signal.aborted) finish();
  else io.signal.addEventListener("abort", onAbort, { once: true });

  // Resizes, tty only, through conmon's control FIFO.
  if (t.tty && io.resize && !finished) {
    const s = await takeSizes(io.resize);
    let fh: FileHandle | undefined;
    try {
      // Non-blocking: a FIFO with no reader (conmon gone) would block the open forever.
      fh = await open(t.ctlPath, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    } catch {
      fh = undefined;
    }
    if (finished) {
      s.stop();
      await fh?.close().catch(() => undefined);
    } else {
      sizes = s;
      ctl = fh;
      const resize = (z: { width: number; height: number }): void => {
        void fh?.write(ctlMessage("resize", z.height, z.width)).catch(() => undefined);
      };
      if (s.given) resize(s.initial);
      s.follow(resize);
    }
  }
  await done;
}
