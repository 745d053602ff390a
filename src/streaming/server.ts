// berth's streaming server (kubelet's and k8s.io/cri-streaming's): the Exec/Attach/PortForward
// RPCs store a validated request here and return the URL of its single-use token; the client
// connects to that URL and upgrades to SPDY/3.1 or WebSocket, and the session runs against
// the runtime. GET and POST are both accepted. Unknown, expired, reused or wrong-kind tokens
// get 404; more than `maxSessions` live sessions get 429 (the token stays usable for a retry).
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";
import { errorMessage, FailedPreconditionError } from "../errors.js";
import type { Logger } from "../log.js";
import { parseAddress, urlHost } from "./address.js";
import { parseRoute, replyOnSocket, spdySwitchingProtocols, type Route } from "./http-request.js";
import { negotiate, splitProtocolHeader } from "./protocols.js";
import {
  SPDY_PORT_FORWARD_PROTOCOLS,
  SPDY_REMOTE_COMMAND_PROTOCOLS,
  WS_PORT_FORWARD_PROTOCOLS,
  WS_REMOTE_COMMAND_PROTOCOLS,
  WS_SPDY_TUNNEL_PROTOCOL,
} from "./protocols.js";
import { RequestCache } from "./request-cache.js";
import { Session } from "./session.js";
import { SessionRunner, type SessionResult } from "./session-runner.js";
import type {
  ServeSpdyPortForward,
  ServeSpdyRemoteCommand,
  SessionLimits,
  StreamingRuntime,
  StreamRequest,
} from "./types.js";

export interface StreamingServerOptions {
  /** "host:port"; port 0 = any. */
  address: string;
  /** PEM files; with caFile, client certificates are required and verified. */
  tls?: { certFile: string; keyFile: string; caFile?: string };
  runtime: StreamingRuntime;
  spdy: { remoteCommand: ServeSpdyRemoteCommand; portForward: ServeSpdyPortForward };
  limits: SessionLimits;
  /** Concurrent sessions; more are answered 429. */
  maxSessions: number;
  tokenTtlMs?: number;
  maxTokens?: number;
  log: Logger;
  observe?: {
    started(kind: StreamRequest["kind"]): void;
    ended(kind: StreamRequest["kind"], result: "success" | "error"): void;
  };
}

/** How long a closing WebSocket may take to finish its close handshake before it is cut. */
const WS_CLOSE_GRACE_MS = 5000;

export class StreamingServer {
  private readonly cache: RequestCache;
  private wssMade: WebSocketServer | undefined;
  private readonly chosenProtocol = new WeakMap<http.IncomingMessage, string>();
  private readonly sessions = new Set<Session>();
  private readonly settled = new Set<Promise<void>>();
  private readonly runner: SessionRunner;
  private server: http.Server | undefined;
  private base: string | undefined;
  private closing: Promise<void> | undefined;

  /**
   * The WebSocket side, made at the first WebSocket upgrade: ws is ~135 KB of code that a node
   * whose clients never exec over WebSocket need not hold (idle RSS, issue #12).
   */
  private get wss(): WebSocketServer {
    if (!this.wssMade) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { WebSocketServer: Server } = require("ws") as typeof import("ws");
      this.wssMade = new Server({
        noServer: true,
        perMessageDeflate: false,
        // Chosen in onWebSocket before the handshake; ws only asks when the client offered some.
        handleProtocols: (_offered, req) => this.chosenProtocol.get(req) ?? false,
      });
    }
    return this.wssMade;
  }

  constructor(private readonly opts: StreamingServerOptions) {
    this.cache = new RequestCache({ ttlMs: opts.tokenTtlMs, maxTokens: opts.maxTokens });
    this.runner = new SessionRunner(opts.runtime, opts.spdy, opts.limits);
  }

  async listen(): Promise<{ host: string; port: number }> {
    if (this.server) throw new FailedPreconditionError("streaming server is already listening");
    const { host, port } = parseAddress(this.opts.address);
    const server = await this.createServer();
    // A client has streamCreationTimeout to send its request; the upgraded socket is ours after.
    server.headersTimeout = this.opts.limits.streamCreationTimeoutMs;
    server.requestTimeout = this.opts.limits.streamCreationTimeoutMs;
    server.on("request", (req, res) => this.onRequest(req, res));
    // Malformed or too slow requests: answer if the socket still can, and always let it go.
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
      const status = err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
      if (!socket.writable) return void socket.destroy();
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`,
        () => socket.destroy(),
      );
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: host === "" ? undefined : host, port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    const bound = server.address() as AddressInfo;
    const scheme = this.opts.tls ? "https" : "http";
    this.base = `${scheme}://${urlHost(host === "" ? bound.address : host)}:${bound.port}`;
    this.opts.log.info({ url: this.base }, "streaming server listening");
    return { host: bound.address, port: bound.port };
  }

  /** Absolute URL http(s)://HOST:PORT/{exec,attach,portforward}/TOKEN for a validated request. */
  url(req: StreamRequest): string {
    if (!this.base || this.closing) {
      throw new FailedPreconditionError("streaming server is not listening");
    }
    return `${this.base}/${req.kind}/${this.cache.insert(req)}`;
  }

  /** Stops listening and ends every live session. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const server = this.server;
    const stopped = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    for (const s of this.sessions) s.end("streaming server closing");
    server?.closeAllConnections();
    await Promise.allSettled([...this.settled]);
    await stopped;
  }

  private async createServer(): Promise<http.Server> {
    const tls = this.opts.tls;
    // Node checks request timeouts on this period (default 30 s); keep it well under the limit.
    const checkMs = Math.min(30_000, Math.max(50, this.opts.limits.streamCreationTimeoutMs / 4));
    const common = { connectionsCheckingInterval: checkMs };
    if (!tls) return http.createServer(common);
    const [cert, key, ca] = await Promise.all([
      readFile(tls.certFile),
      readFile(tls.keyFile),
      tls.caFile ? readFile(tls.caFile) : undefined,
    ]);
    return https.createServer({
      ...common,
      cert,
      key,
      ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
    });
  }

  /** A request without an upgrade cannot stream; it still uses up its token (as upstream). */
  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const answer = (status: number, message: string) => {
      res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(`${message}\n`);
    };
    const route = parseRoute(req.url);
    if (!route) return answer(404, "404 page not found");
    if (req.method !== "GET" && req.method !== "POST") return answer(405, "method not allowed");
    if (!this.take(route)) return answer(404, "404 page not found");
    answer(400, "unable to upgrade: missing upgrade headers in request");
  }

  private take(route: Route): StreamRequest | undefined {
    const req = this.cache.consume(route.token);
    return req && req.kind === route.kind ? req : undefined;
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", (err) => this.opts.log.debug({ err: errorMessage(err) }, "stream socket"));
    try {
      this.dispatch(req, socket, head);
    } catch (err) {
      // Whatever went wrong is this connection's problem, never the daemon's.
      this.opts.log.warn({ err: errorMessage(err) }, "streaming upgrade failed");
      replyOnSocket(socket, 500, "internal error");
    }
  }

  private dispatch(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const route = parseRoute(req.url);
    if (!route) return replyOnSocket(socket, 404, "404 page not found");
    if (req.method !== "GET" && req.method !== "POST") {
      return replyOnSocket(socket, 405, "method not allowed");
    }
    if (this.closing) return replyOnSocket(socket, 503, "streaming server is closing");
    if (this.sessions.size >= this.opts.maxSessions) {
      return replyOnSocket(socket, 429, "too many streaming sessions, try again later", [
        ["Retry-After", "1"],
      ]);
    }
    const sreq = this.take(route);
    if (!sreq) return replyOnSocket(socket, 404, "404 page not found");
    const upgrade = (req.headers.upgrade ?? "").toLowerCase();
    if (upgrade === "spdy/3.1") return this.onSpdy(req, socket, head, sreq);
    if (upgrade === "websocket") return this.onWebSocket(req, socket, head, sreq, route);
    replyOnSocket(socket, 400, `unable to upgrade: unsupported protocol "${req.headers.upgrade}"`);
  }

  private onSpdy(req: http.IncomingMessage, socket: Duplex, head: Buffer, sreq: StreamRequest) {
    const offered = splitProtocolHeader(req.headers["x-stream-protocol-version"]);
    const supported =
      sreq.kind === "portforward" ? SPDY_PORT_FORWARD_PROTOCOLS : SPDY_REMOTE_COMMAND_PROTOCOLS;
    if (offered.length === 0) {
      return replyOnSocket(socket, 400, "unable to upgrade: X-Stream-Protocol-Version is required");
    }
    const chosen = negotiate(offered, supported);
    if (!chosen) {
      return replyOnSocket(
        socket,
        403,
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], server accepts [${supported.join(" ")}]`,
        supported.map((p) => ["X-Accepted-Stream-Protocol-Versions", p]),
      );
    }
    socket.write(spdySwitchingProtocols(chosen));
    const session = new Session(sreq.kind, socket, this.opts.limits.idleTimeoutMs);
    this.track(session, chosen, (s) => this.runner.spdy(socket, head, sreq, chosen, s));
  }

  private onWebSocket(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    sreq: StreamRequest,
    route: Route,
  ) {
    const offered = splitProtocolHeader(req.headers["sec-websocket-protocol"]);
    const supported: readonly string[] =
      sreq.kind === "portforward"
        ? [WS_SPDY_TUNNEL_PROTOCOL, ...WS_PORT_FORWARD_PROTOCOLS]
        : WS_REMOTE_COMMAND_PROTOCOLS;
    // No subprotocol offered: upstream's "" entry, binary channels with v1 semantics.
    const chosen = offered.length === 0 ? "" : negotiate(offered, supported);
    if (chosen === undefined) {
      return replyOnSocket(
        socket,
        403,
        `requested protocol(s) are not supported: [${offered.join(" ")}]; supports [${supported.join(" ")}]`,
      );
    }
    let ports: number[] = [];
    if (sreq.kind === "portforward" && chosen !== WS_SPDY_TUNNEL_PROTOCOL) {
      const parsed = this.runner.wsPorts(route.query, sreq.ports);
      if (typeof parsed === "string") return replyOnSocket(socket, 400, parsed);
      ports = parsed;
    }
    this.chosenProtocol.set(req, chosen);
    // ws refuses subprotocol names that are not RFC 7230 tokens, and client-go's tunnelling
    // dialer offers one with a "/" (SPDY/3.1+portforward.k8s.io). The choice is made above;
    // ws gets a token to parse and answers with the chosen name from handleProtocols.
    if (chosen !== "") req.headers["sec-websocket-protocol"] = "negotiated";
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on("error", (err) => this.opts.log.debug({ err: errorMessage(err) }, "websocket"));
      if (this.closing) {
        ws.terminate();
        return;
      }
      const session = new Session(sreq.kind, socket, this.opts.limits.idleTimeoutMs);
      session.onTeardown(() => ws.terminate());
      ws.once("close", () => session.abort("client closed the connection"));
      session.watchIdle();
      this.track(session, chosen, async (s) => {
        const result = await this.runner.webSocket(ws, chosen, sreq, ports, s);
        await closed(ws, WS_CLOSE_GRACE_MS);
        return result;
      });
    });
  }

  /** Runs a session to its end: counted, observed once, logged, and its socket released. */
  private track(
    session: Session,
    protocol: string,
    work: (session: Session) => Promise<SessionResult>,
  ): void {
    const { kind } = session;
    const log = this.opts.log.child({ stream: kind, protocol });
    this.sessions.add(session);
    this.observe(() => this.opts.observe?.started(kind));
    log.debug("stream session started");
    const done = Promise.resolve()
      .then(() => work(session))
      .catch((err: unknown): SessionResult => ({ ok: false, detail: errorMessage(err) }))
      .then((result) => {
        session.release();
        this.sessions.delete(session);
        const outcome = result.ok ? "success" : "error";
        this.observe(() => this.opts.observe?.ended(kind, outcome));
        const fields = { outcome, detail: result.detail };
        if (result.ok) log.debug(fields, "stream session ended");
        else log.info(fields, "stream session ended");
      });
    this.settled.add(done);
    void done.finally(() => this.settled.delete(done));
  }

  private observe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, "streaming observer failed");
    }
  }
}

/** Resolves when the WebSocket has closed, cutting it after `graceMs`. */
function closed(ws: WebSocket, graceMs: number): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), graceMs);
    ws.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
