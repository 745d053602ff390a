// The contracts between berth's streaming pieces: the HTTP server and its transports (SPDY/3.1,
// WebSocket) on one side, the runtime that runs exec/attach/port-forward on the other. The
// transports never look at containers; the runtime never looks at frames.
import type { Duplex, Readable, Writable } from "node:stream";

export interface TerminalSize {
  width: number;
  height: number;
}

/** What a transport hands the runtime for exec and attach. */
export interface StreamIO {
  /** Present when the client asked for stdin; ends when the client closes it. */
  stdin?: Readable;
  stdout?: Writable;
  /** Never set together with `tty` (a tty merges stderr into stdout). */
  stderr?: Writable;
  tty: boolean;
  /** Terminal sizes in the order the client sent them (tty only); the first one is the initial size. */
  resize?: AsyncIterable<TerminalSize>;
  /** Aborted when the client goes away or the session times out: the runtime must then end the
   *  exec'd process (exec) or detach (attach) and release everything it holds. */
  signal: AbortSignal;
}

/** The runtime side of streaming. Each call resolves when the session is over. */
export interface StreamingRuntime {
  /** Runs `cmd` in the container; resolves with its exit code (128+n for a signal). */
  exec(containerId: string, cmd: string[], io: StreamIO): Promise<number>;
  /** Attaches to the container's own stdio until the container exits, stdin ends (with
   *  stdin_once) or the signal aborts. */
  attach(containerId: string, io: StreamIO): Promise<void>;
  /** Connects `conn` to TCP `port` on 127.0.0.1 inside the pod's network namespace (the host's
   *  loopback for host-network pods). Rejects with a message the client can show (e.g.
   *  connection refused) when the port cannot be reached; resolves when both sides are done. */
  portForward(podSandboxId: string, port: number, conn: Duplex, signal: AbortSignal): Promise<void>;
}

/** A request the Exec/Attach/PortForward RPCs validated and stored behind a token. */
export type StreamRequest =
  | {
      kind: "exec";
      containerId: string;
      cmd: string[];
      tty: boolean;
      stdin: boolean;
      stdout: boolean;
      stderr: boolean;
    }
  | {
      kind: "attach";
      containerId: string;
      tty: boolean;
      stdin: boolean;
      stdout: boolean;
      stderr: boolean;
    }
  | { kind: "portforward"; podSandboxId: string; ports: number[] };

export type RemoteCommandRequest = Extract<StreamRequest, { kind: "exec" | "attach" }>;

/** The streams a transport set up for one exec or attach session, whatever the wire. */
export interface RemoteCommandStreams {
  /** The negotiated subprotocol, e.g. `v4.channel.k8s.io` (decides the error-channel format). */
  protocol: string;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Raw bytes of the resize channel: a sequence of JSON `{"Width":W,"Height":H}` objects. */
  resize?: Readable;
  /** The error (status) channel; the session's outcome is written here, then it ends. */
  error: Writable;
  /** Aborted when the connection is gone. */
  signal: AbortSignal;
}

/** Transport-neutral: runs the request against the runtime with the given streams, writes the
 *  outcome on the error channel, and ends the output streams. Never rejects. */
export type RunRemoteCommand = (
  req: RemoteCommandRequest,
  streams: RemoteCommandStreams,
) => Promise<void>;

/** Opens one port-forward connection (see StreamingRuntime.portForward). */
export type ForwardPort = (port: number, conn: Duplex, signal: AbortSignal) => Promise<void>;

/** Timeouts and limits every transport honours (kubelet's defaults are the config defaults). */
export interface SessionLimits {
  /** How long a client has to open all the streams a session needs (kubelet: 30 s). */
  streamCreationTimeoutMs: number;
  /** A session with no traffic for this long is closed (kubelet: 4 h); 0 = never. */
  idleTimeoutMs: number;
}

/** Serves one exec/attach session over SPDY/3.1 on a connection the server has already answered
 *  `101 Switching Protocols` on (with `protocol` as X-Stream-Protocol-Version). `head` is what
 *  the client sent after its request headers. Resolves when the connection is closed. */
export type ServeSpdyRemoteCommand = (
  conn: Duplex,
  head: Buffer,
  req: RemoteCommandRequest,
  protocol: string,
  run: RunRemoteCommand,
  limits: SessionLimits,
) => Promise<void>;

/** Serves one port-forward session over SPDY/3.1 (`portforward.k8s.io`), likewise. */
export type ServeSpdyPortForward = (
  conn: Duplex,
  head: Buffer,
  forward: ForwardPort,
  limits: SessionLimits,
) => Promise<void>;
