// What crictl needs to reach berth's SPDY transport without a runtime: berth's own gRPC server
// with only Exec and PortForward bound (they hand out URLs to a test HTTP server), and that HTTP
// server, which answers the SPDY upgrade as kubelet's streaming server does and then calls the
// transport with a fake `run` (a few scripted commands) and a fake `forward` (to a TCP echo
// server on 127.0.0.1).
import { once } from "node:events";
import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { loadCriDefinitions } from "../../src/cri/proto.js";
import { bindUnix, createCriServer } from "../../src/cri/server.js";
import { silentLogger } from "../../src/log.js";
import { BerthMetrics } from "../../src/metrics/berth-metrics.js";
import {
  PORT_FORWARD_PROTOCOL,
  SPDY_REMOTE_COMMAND_PROTOCOLS,
} from "../../src/streaming/protocols.js";
import { serveSpdyPortForward, serveSpdyRemoteCommand } from "../../src/streaming/spdy/index.js";
import type {
  RemoteCommandRequest,
  RemoteCommandStreams,
  SessionLimits,
  TerminalSize,
} from "../../src/streaming/types.js";

const LIMITS: SessionLimits = { streamCreationTimeoutMs: 30_000, idleTimeoutMs: 0 };

/** A scripted command: echo ARGS, fail (stderr + exit 3), cat (stdin → stdout), resize. */
async function fakeCommand(
  req: RemoteCommandRequest,
  s: RemoteCommandStreams,
  sizes: TerminalSize[],
): Promise<number> {
  const cmd = req.kind === "exec" ? req.cmd : ["cat"];
  switch (cmd[0]) {
    case "echo":
      s.stdout?.write(`${cmd.slice(1).join(" ")}\n`);
      return 0;
    case "fail":
      s.stderr?.write("something failed\n");
      return 3;
    case "cat":
      if (s.stdin && s.stdout) {
        for await (const chunk of s.stdin) s.stdout.write(chunk as Buffer);
      }
      return 0;
    case "resize": {
      let text = "";
      for await (const chunk of s.resize ?? []) {
        text += (chunk as Buffer).toString();
        const m = /^\s*(\{[^}]*\})/.exec(text);
        if (!m?.[1]) continue;
        const size = JSON.parse(m[1]) as { Width: number; Height: number };
        sizes.push({ width: size.Width, height: size.Height });
        s.stdout?.write(`size ${size.Width}x${size.Height}\r\n`);
        return 0;
      }
      return 1;
    }
    default:
      s.stderr?.write(`unknown command ${cmd[0] ?? ""}\n`);
      return 127;
  }
}

function statusJson(code: number): string {
  if (code === 0) return JSON.stringify({ metadata: {}, status: "Success" });
  return JSON.stringify({
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [x], exit code ${code}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(code) }] },
  });
}

async function forwardToEcho(echoPort: number, remote: number, conn: Duplex): Promise<void> {
  if (remote !== 80) throw Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" });
  const sock = net.connect(echoPort, "127.0.0.1");
  await once(sock, "connect");
  conn.pipe(sock);
  sock.pipe(conn);
  await Promise.all([once(sock, "close"), once(conn, "finish")]);
}

export class SpdyStreamEnv {
  readonly sizes: TerminalSize[] = [];
  readonly protocols: string[] = [];
  /** Sessions served and not yet over. */
  active = 0;
  private readonly tokens = new Map<
    string,
    RemoteCommandRequest | { kind: "portforward"; ports: number[] }
  >();
  private next = 0;

  private grpcServer: grpc.Server | undefined;
  private echoed = new Set<Duplex>();
  /** Upgraded and echoed sockets: the servers' close() does not end them. */
  private readonly sockets = new Set<Duplex>();

  private constructor(
    readonly dir: string,
    readonly socket: string,
    private readonly httpServer: http.Server,
    private readonly echo: net.Server,
  ) {}

  static async start(): Promise<SpdyStreamEnv> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-spdy-"));
    const echoed = new Set<Duplex>();
    const echo = net.createServer((s) => {
      echoed.add(s);
      s.once("close", () => echoed.delete(s));
      s.pipe(s);
    });
    echo.listen(0, "127.0.0.1");
    await once(echo, "listening");
    const httpServer = http.createServer((_req, res) => res.writeHead(400).end());
    httpServer.listen(0, "127.0.0.1");
    await once(httpServer, "listening");
    const socket = path.join(dir, "cri.sock");
    const env = new SpdyStreamEnv(dir, socket, httpServer, echo);
    env.echoed = echoed;
    const base = `http://127.0.0.1:${(httpServer.address() as net.AddressInfo).port}`;
    env.grpcServer = createCriServer(
      loadCriDefinitions(),
      {
        // crictl checks the API version before anything else.
        Version: async () => ({
          version: "0.1.0",
          runtime_name: "berth-spdy-test",
          runtime_version: "0.0.0",
          runtime_api_version: "v1",
        }),
        Exec: async (req) => ({
          url: `${base}/exec/${env.token({ kind: "exec", containerId: req.container_id, cmd: req.cmd, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr })}`,
        }),
        PortForward: async (req) => ({
          url: `${base}/portforward/${env.token({ kind: "portforward", ports: req.port })}`,
        }),
      },
      { log: silentLogger(), metrics: new BerthMetrics(), isReady: () => true },
    );
    await bindUnix(env.grpcServer, socket);
    httpServer.on("upgrade", (req, sock, head) => env.upgrade(req, sock, head));
    return env;
  }

  private token(v: RemoteCommandRequest | { kind: "portforward"; ports: number[] }): string {
    const t = `t${++this.next}`;
    this.tokens.set(t, v);
    return t;
  }

  private upgrade(req: http.IncomingMessage, sock: Duplex, head: Buffer): void {
    this.sockets.add(sock);
    sock.once("close", () => this.sockets.delete(sock));
    const token = (req.url ?? "").split("/").pop() ?? "";
    const stored = this.tokens.get(token);
    this.tokens.delete(token);
    const offered = (req.headers["x-stream-protocol-version"] ?? "")
      .toString()
      .split(",")
      .map((p) => p.trim());
    const supported: readonly string[] =
      stored?.kind === "portforward" ? [PORT_FORWARD_PROTOCOL] : SPDY_REMOTE_COMMAND_PROTOCOLS;
    const protocol = supported.find((p) => offered.includes(p));
    if (!stored || !protocol || req.headers.upgrade?.toLowerCase() !== "spdy/3.1") {
      sock.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    this.protocols.push(protocol);
    sock.write(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
        `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
    );
    this.active++;
    const echoPort = (this.echo.address() as net.AddressInfo).port;
    const served =
      stored.kind === "portforward"
        ? serveSpdyPortForward(
            sock,
            head,
            (port, conn) => forwardToEcho(echoPort, port, conn),
            LIMITS,
          )
        : serveSpdyRemoteCommand(
            sock,
            head,
            stored,
            protocol,
            async (r, s) => {
              const code = await fakeCommand(r, s, this.sizes);
              s.stdout?.end();
              s.stderr?.end();
              s.error.end(statusJson(code));
            },
            LIMITS,
          );
    void served.finally(() => this.active--);
  }

  async cleanup(): Promise<void> {
    for (const s of [...this.sockets, ...this.echoed]) s.destroy();
    this.httpServer.closeAllConnections();
    await new Promise<void>((r) => this.httpServer.close(() => r()));
    await new Promise<void>((r) => this.echo.close(() => r()));
    const g = this.grpcServer;
    if (g) await new Promise<void>((r) => g.tryShutdown(() => r()));
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
