// What a session does once its connection is upgraded, per transport and kind, and whether it
// went well: a session is a success when the runtime did its part (a non-zero exit code is the
// command's answer, not a failure) and the client was still there to get the outcome.
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { errorMessage } from "../errors.js";
import { queryPorts } from "./http-request.js";
import { WS_SPDY_TUNNEL_PROTOCOL } from "./protocols.js";
import { runRemoteCommand, type RunResult } from "./remotecommand.js";
import type { Session } from "./session.js";
import type {
  ForwardPort,
  RemoteCommandRequest,
  RemoteCommandStreams,
  RunRemoteCommand,
  ServeSpdyPortForward,
  ServeSpdyRemoteCommand,
  SessionLimits,
  StreamingRuntime,
  StreamRequest,
} from "./types.js";
import { serveWebSocketPortForward } from "./ws/portforward.js";
import { serveWebSocketRemoteCommand } from "./ws/remotecommand.js";
import { webSocketDuplex } from "./ws/tunnel.js";

export interface SessionResult {
  ok: boolean;
  detail?: string;
}

type PortForwardRequest = Extract<StreamRequest, { kind: "portforward" }>;

function resultOf(run: RunResult | undefined): SessionResult {
  if (!run) return { ok: false, detail: "the client never opened its streams" };
  const { outcome, interrupted } = run;
  if (outcome.kind === "error") return { ok: false, detail: outcome.message };
  if (interrupted) return { ok: false, detail: "cut short: the client went away or timed out" };
  return { ok: true, detail: outcome.kind === "exit" ? `exit code ${outcome.code}` : undefined };
}

export class SessionRunner {
  constructor(
    private readonly runtime: StreamingRuntime,
    private readonly spdyServe: {
      remoteCommand: ServeSpdyRemoteCommand;
      portForward: ServeSpdyPortForward;
    },
    private readonly limits: SessionLimits,
  ) {}

  /** The ports a channel port-forward serves: `?port=`, else the ones the RPC named. */
  wsPorts(query: URLSearchParams, requested: number[]): number[] | string {
    const ports = queryPorts(query);
    if (typeof ports === "string") return ports;
    if (ports.length > 0) return ports;
    if (requested.length > 0) return requested;
    return `query parameter "port" is required`;
  }

  async spdy(
    socket: Duplex,
    head: Buffer,
    req: StreamRequest,
    protocol: string,
    session: Session,
  ): Promise<SessionResult> {
    if (req.kind === "portforward") {
      const pf = this.forwarder(req, session);
      await this.spdyServe.portForward(socket, head, pf.forward, this.limits);
      return pf.result();
    }
    let result: RunResult | undefined;
    const run: RunRemoteCommand = async (r, streams) => {
      const signal = AbortSignal.any([streams.signal, session.signal]);
      result = await runRemoteCommand(this.runtime, r, { ...streams, signal });
    };
    await this.spdyServe.remoteCommand(socket, head, req, protocol, run, this.limits);
    return resultOf(result);
  }

  async webSocket(
    ws: WebSocket,
    protocol: string,
    req: StreamRequest,
    ports: number[],
    session: Session,
  ): Promise<SessionResult> {
    const wsOpts = { signal: session.signal, onActivity: session.touch };
    if (req.kind !== "portforward") {
      const run = (r: RemoteCommandRequest, s: RemoteCommandStreams) =>
        runRemoteCommand(this.runtime, r, s);
      return resultOf(await serveWebSocketRemoteCommand(ws, protocol, req, run, wsOpts));
    }
    const pf = this.forwarder(req, session);
    if (protocol === WS_SPDY_TUNNEL_PROTOCOL) {
      const conn = webSocketDuplex(ws, session.touch);
      try {
        await this.spdyServe.portForward(conn, Buffer.alloc(0), pf.forward, this.limits);
      } finally {
        conn.destroy();
      }
      return pf.result();
    }
    await serveWebSocketPortForward(ws, protocol, req.podSandboxId, ports, pf.forward, wsOpts);
    return pf.result();
  }

  /** A ForwardPort bound to the pod and the session, counting the connections that failed. */
  private forwarder(req: PortForwardRequest, session: Session) {
    let failed = 0;
    let last = "";
    const forward: ForwardPort = async (port, conn, signal) => {
      try {
        await this.runtime.portForward(
          req.podSandboxId,
          port,
          conn,
          AbortSignal.any([signal, session.signal]),
        );
      } catch (err) {
        failed++;
        last = errorMessage(err);
        throw err;
      }
    };
    const result = (): SessionResult =>
      failed === 0
        ? { ok: true }
        : { ok: false, detail: `${failed} connection(s) failed: ${last}` };
    return { forward, result };
  }
}
