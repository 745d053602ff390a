// A SOCK_SEQPACKET unix socket client: conmon's attach socket is one, and Node's `net` only does
// SOCK_STREAM. The native part comes from the prebuilt `node-unix-socket-linux-x64-gnu` addon
// (node-unix-socket's Linux binary). Its JS wrapper package is not used: it lists optional
// binaries for other platforms that the registry does not serve, which breaks `npm ci`.
//
// The addon's contract, as node-unix-socket's own wrapper uses it: the wrap is built with an
// EventEmitter whose `emit` is bound to it, `init(wrap)` must be called before anything else
// (without it closing the handle aborts the whole process), and it emits `_connect`, `_data`
// (one Buffer per packet), `end` (peer shut down), `_shutdown` (our shutdown done), `_error`
// and `close`. There is no way to pause reading: packets arrive as fast as the peer sends them.
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";

interface SeqpacketWrap {
  init(self: object): void;
  connect(path: string): void;
  startRecv(): void;
  write(buf: Buffer, offset: number, length: number, cb?: () => void): void;
  shutdownWhenFlushed(): void;
  close(): void;
}

type WrapConstructor = new (ee: EventEmitter, fd?: number) => SeqpacketWrap;

let ctor: WrapConstructor | undefined;

function wrapConstructor(): WrapConstructor {
  if (!ctor) {
    const addon = createRequire(__filename)("node-unix-socket-linux-x64-gnu") as {
      SeqpacketSocketWrap: WrapConstructor;
    };
    ctor = addon.SeqpacketSocketWrap;
  }
  return ctor;
}

export interface SeqpacketHandlers {
  /** One packet, boundaries kept. */
  onPacket(buf: Buffer): void;
  /** The peer shut down its side (or closed): no more packets. */
  onEnd(): void;
  onError(err: Error): void;
}

export class SeqpacketClient {
  private readonly wrap: SeqpacketWrap;
  private readonly ee = new EventEmitter();
  private closed = false;
  private ended = false;
  /** Resolves once the native handle is closed. */
  readonly whenClosed: Promise<void>;

  private constructor(handlers: SeqpacketHandlers) {
    this.ee.emit = this.ee.emit.bind(this.ee);
    this.whenClosed = new Promise((resolve) => this.ee.once("close", () => resolve()));
    this.ee.on("_data", (buf: Buffer) => handlers.onPacket(buf));
    this.ee.on("end", () => {
      if (this.ended) return;
      this.ended = true;
      handlers.onEnd();
    });
    this.ee.on("_error", (err: Error) => {
      const failConnect = this.failConnect;
      this.close();
      if (failConnect) failConnect(err);
      else handlers.onError(err);
    });
    const Wrap = wrapConstructor();
    this.wrap = new Wrap(this.ee);
    this.wrap.init(this.wrap);
  }

  /** Set while connecting: an error then fails the connect instead of the session. */
  private failConnect: ((err: Error) => void) | undefined;

  /** Connects to a SEQPACKET server at `path`; rejects when nobody listens there. */
  static connect(path: string, handlers: SeqpacketHandlers): Promise<SeqpacketClient> {
    const client = new SeqpacketClient(handlers);
    return new Promise((resolve, reject) => {
      client.failConnect = (err) => {
        client.failConnect = undefined;
        reject(err);
      };
      client.ee.once("_connect", () => {
        client.failConnect = undefined;
        client.wrap.startRecv();
        resolve(client);
      });
      try {
        client.wrap.connect(path);
      } catch (err) {
        client.close();
        client.failConnect?.(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Sends one packet; resolves when the kernel has it. */
  send(buf: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error("socket is closed"));
    return new Promise((resolve) => this.wrap.write(buf, 0, buf.length, () => resolve()));
  }

  /** Shuts down our sending side once pending packets are out (the peer reads EOF). */
  shutdownSend(): void {
    if (!this.closed) this.wrap.shutdownWhenFlushed();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wrap.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
