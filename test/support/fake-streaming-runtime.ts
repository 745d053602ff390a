// A StreamingRuntime for streaming tests: no containers, a few commands with known behaviour,
// and port-forward to a real TCP port on 127.0.0.1. It records what it was asked and whether
// the session's signal aborted it.
import { once } from "node:events";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { NotFoundError } from "../../src/errors.js";
import type { StreamIO, StreamingRuntime, TerminalSize } from "../../src/streaming/types.js";

export interface ExecCall {
  containerId: string;
  cmd: string[];
  tty: boolean;
  hadStdin: boolean;
  hadStdout: boolean;
  hadStderr: boolean;
  aborted: boolean;
}

function write(w: NodeJS.WritableStream | undefined, text: string): void {
  w?.write(Buffer.from(text));
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true }),
  );
}

async function readAll(io: StreamIO): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (io.stdin) for await (const c of io.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Commands:
 *  echo ARGS...   ARGS joined by spaces and a newline on stdout; exit 0
 *  cat            stdin to stdout until stdin ends; exit 0
 *  line           stdin to stdout up to and including the first newline; exit 0
 *  fail           "oops\n" on stderr, "partial\n" on stdout; exit 3
 *  sizes N        the first N terminal sizes as JSON on stdout; exit 0
 *  sleep          nothing until the signal aborts; exit 137
 *  boom           rejects (a runtime error)
 */
export class FakeStreamingRuntime implements StreamingRuntime {
  readonly execs: ExecCall[] = [];
  readonly aborted: string[] = [];
  readonly forwards: { pod: string; port: number }[] = [];
  /** Resolves the next time a session's signal aborts the runtime. */
  abortSeen: Promise<void>;
  private seeAbort!: () => void;

  constructor() {
    this.abortSeen = this.nextAbort();
  }

  private nextAbort(): Promise<void> {
    return new Promise((r) => {
      this.seeAbort = r;
    });
  }

  private watch(what: string, signal: AbortSignal, call?: ExecCall): void {
    signal.addEventListener(
      "abort",
      () => {
        this.aborted.push(what);
        if (call) call.aborted = true;
        const see = this.seeAbort;
        this.abortSeen = this.nextAbort();
        see();
      },
      { once: true },
    );
  }

  async exec(containerId: string, cmd: string[], io: StreamIO): Promise<number> {
    const call: ExecCall = {
      containerId,
      cmd,
      tty: io.tty,
      hadStdin: io.stdin !== undefined,
      hadStdout: io.stdout !== undefined,
      hadStderr: io.stderr !== undefined,
      aborted: false,
    };
    this.execs.push(call);
    this.watch(`exec ${cmd.join(" ")}`, io.signal, call);
    const [name, ...args] = cmd;
    switch (name) {
      case "echo":
        write(io.stdout, `${args.join(" ")}\n`);
        return 0;
      case "cat":
        if (io.stdin) {
          for await (const c of io.stdin as AsyncIterable<Buffer>) io.stdout?.write(c);
        }
        return 0;
      case "line": {
        let seen = Buffer.alloc(0);
        if (io.stdin) {
          for await (const c of io.stdin as AsyncIterable<Buffer>) {
            seen = Buffer.concat([seen, c]);
            const nl = seen.indexOf(0x0a);
            if (nl >= 0) {
              io.stdout?.write(seen.subarray(0, nl + 1));
              return 0;
            }
          }
        }
        io.stdout?.write(seen);
        return 0;
      }
      case "fail":
        write(io.stdout, "partial\n");
        write(io.stderr, "oops\n");
        return 3;
      case "sizes": {
        const want = Number(args[0] ?? "1");
        const sizes: TerminalSize[] = [];
        if (io.resize) {
          for await (const s of io.resize) {
            sizes.push(s);
            if (sizes.length >= want) break;
          }
        }
        write(io.stdout, JSON.stringify(sizes));
        return 0;
      }
      case "sleep":
        await untilAborted(io.signal);
        return 137;
      case "boom":
        throw new Error("the container is not running");
      default:
        await readAll(io);
        write(io.stderr, `${name}: not found\n`);
        return 127;
    }
  }

  async attach(containerId: string, io: StreamIO): Promise<void> {
    this.watch(`attach ${containerId}`, io.signal);
    if (containerId === "gone") throw new NotFoundError(`container "gone" not found`);
    write(io.stdout, `attached to ${containerId}\n`);
    if (io.stdin) {
      for await (const c of io.stdin as AsyncIterable<Buffer>) io.stdout?.write(c);
    } else {
      await untilAborted(io.signal);
    }
  }

  /** Connects to 127.0.0.1:port on the host (the test's echo server stands in for the pod). */
  async portForward(pod: string, port: number, conn: Duplex, signal: AbortSignal): Promise<void> {
    this.forwards.push({ pod, port });
    this.watch(`portforward ${port}`, signal);
    const target = net.connect({ host: "127.0.0.1", port });
    try {
      await once(target, "connect");
    } catch (err) {
      target.destroy();
      throw err;
    }
    const stop = () => target.destroy();
    signal.addEventListener("abort", stop, { once: true });
    conn.pipe(target);
    target.pipe(conn);
    await new Promise<void>((resolve) => {
      target.once("close", () => resolve());
      conn.once("close", () => resolve());
    });
    signal.removeEventListener("abort", stop);
    target.destroy();
  }
}

/** A TCP echo server on 127.0.0.1 (stands in for a port inside a pod). */
export async function startEchoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
    s.pipe(s);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
