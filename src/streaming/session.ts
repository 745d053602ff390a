// One live streaming session: the socket it owns, the AbortSignal the runtime watches, and the
// idle timer. Whatever ends it — the work finishing, the client going away, the idle timeout,
// the server closing — the socket is destroyed and the signal aborted exactly once.
import type { Duplex } from "node:stream";
import type { StreamKind } from "./http-request.js";

export class Session {
  private readonly ac = new AbortController();
  private lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private teardown: (() => void) | undefined;

  constructor(
    readonly kind: StreamKind,
    readonly socket: Duplex,
    /** 0 = never idle out. */
    private readonly idleTimeoutMs: number,
  ) {
    socket.once("close", () => this.abort("connection closed"));
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** How to close the session's transport politely before its socket is destroyed. */
  onTeardown(fn: () => void): void {
    this.teardown = fn;
  }

  /** Traffic in either direction; pushes the idle deadline back. */
  readonly touch = (): void => {
    this.lastActivity = Date.now();
  };

  /** Arms the idle timer (for transports that do not time themselves). */
  watchIdle(): void {
    if (this.idleTimeoutMs <= 0 || this.idleTimer) return;
    const check = () => {
      const idle = Date.now() - this.lastActivity;
      if (idle >= this.idleTimeoutMs) {
        this.idleTimer = undefined;
        this.end("idle timeout");
      } else {
        this.idleTimer = setTimeout(check, this.idleTimeoutMs - idle);
        this.idleTimer.unref();
      }
    };
    this.idleTimer = setTimeout(check, this.idleTimeoutMs);
    this.idleTimer.unref();
  }

  abort(reason: string): void {
    if (!this.ac.signal.aborted) this.ac.abort(new Error(reason));
  }

  /** Ends the session now: aborts the runtime's work and closes the connection. */
  end(reason: string): void {
    this.abort(reason);
    this.stopTimer();
    try {
      this.teardown?.();
    } catch {
      // The transport is already gone.
    }
    this.socket.destroy();
  }

  /** Called once the session's work has settled: nothing of it may outlive this. */
  release(): void {
    this.stopTimer();
    if (!this.socket.destroyed) this.socket.destroy();
  }

  private stopTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
