// The real client: crictl (cri-tools v1.32.0) against berth's own gRPC server, in-process,
// with only the RPCs crictl needs; Exec/Attach/PortForward answer with the streaming server's
// URLs and a fake runtime stands in for containers.
import { expect } from "chai";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type * as grpc from "@grpc/grpc-js";
import type { CriHandlers } from "../../src/cri/handlers.js";
import { loadCriDefinitions } from "../../src/cri/proto.js";
import { bindUnix, createCriServer } from "../../src/cri/server.js";
import { silentLogger } from "../../src/log.js";
import { BerthMetrics } from "../../src/metrics/berth-metrics.js";
import { StreamingServer } from "../../src/streaming/server.js";
import { serveSpdyPortForward, serveSpdyRemoteCommand } from "../../src/streaming/spdy/index.js";
import { FakeStreamingRuntime, startEchoServer } from "../support/fake-streaming-runtime.js";
import { freePort } from "../support/free-port.js";

const CRICTL = "/work/shared/conformance/bin/crictl";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** crictl with an explicit config file (so it does not go looking for one and say so). */
function crictlArgs(sock: string): string[] {
  const config = path.join(path.dirname(sock), "crictl.yaml");
  if (!existsSync(config)) writeFileSync(config, `runtime-endpoint: unix://${sock}\n`);
  return [
    "--config",
    config,
    "--runtime-endpoint",
    `unix://${sock}`,
    "--image-endpoint",
    `unix://${sock}`,
    "--timeout",
    "10s",
  ];
}

function crictl(sock: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      CRICTL,
      [...crictlArgs(sock), ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === "number" ? code : null, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

describe("crictl over berth's streaming server (--transport websocket)", function () {
  this.timeout(60_000);
  let dir: string;
  let sock: string;
  let grpcServer: grpc.Server;
  let streaming: StreamingServer;
  let runtime: FakeStreamingRuntime;
  const calls: string[] = [];

  before(async function () {
    if (!existsSync(CRICTL)) this.skip();
    dir = mkdtempSync(path.join(os.tmpdir(), "berth-crictl-stream-"));
    sock = path.join(dir, "cri.sock");
    runtime = new FakeStreamingRuntime();
    streaming = new StreamingServer({
      address: "127.0.0.1:0",
      runtime,
      spdy: { remoteCommand: serveSpdyRemoteCommand, portForward: serveSpdyPortForward },
      limits: { streamCreationTimeoutMs: 30_000, idleTimeoutMs: 0 },
      maxSessions: 50,
      log: silentLogger(),
    });
    await streaming.listen();
    const seen = <T>(name: string, fn: T): T => {
      calls.push(name);
      return fn;
    };
    const handlers: CriHandlers = {
      Version: async () =>
        seen("Version", {
          version: "0.1.0",
          runtime_name: "berth",
          runtime_version: "0.1.0",
          runtime_api_version: "v1",
        }),
      Exec: async (req) =>
        seen("Exec", {
          url: streaming.url({
            kind: "exec",
            containerId: req.container_id,
            cmd: req.cmd,
            tty: req.tty,
            stdin: req.stdin,
            stdout: req.stdout,
            stderr: req.stderr,
          }),
        }),
      Attach: async (req) =>
        seen("Attach", {
          url: streaming.url({
            kind: "attach",
            containerId: req.container_id,
            tty: req.tty,
            stdin: req.stdin,
            stdout: req.stdout,
            stderr: req.stderr,
          }),
        }),
      PortForward: async (req) =>
        seen("PortForward", {
          url: streaming.url({
            kind: "portforward",
            podSandboxId: req.pod_sandbox_id,
            ports: req.port,
          }),
        }),
    };
    grpcServer = createCriServer(loadCriDefinitions(), handlers, {
      log: silentLogger(),
      metrics: new BerthMetrics({ processMetrics: false }),
      isReady: () => true,
    });
    await bindUnix(grpcServer, sock);
  });

  after(async () => {
    await streaming?.close();
    await new Promise<void>((r) => (grpcServer ? grpcServer.tryShutdown(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** crictl port-forward LOCAL:ECHO to pod1, then 1 MiB through LOCAL and back. */
  async function portForwardRoundTrip(transport: string[]): Promise<void> {
    const echo = await startEchoServer();
    const local = await freePort();
    const pf = spawn(
      CRICTL,
      [...crictlArgs(sock), "port-forward", ...transport, "pod1", `${local}:${echo.port}`],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    pf.stdout.on("data", (d: Buffer) => (out += d.toString()));
    pf.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes("Forwarding from"), 15_000);
      const data = randomBytes(1024 * 1024);
      const got = await tcpRoundTrip(local, data);
      expect(got.equals(data)).to.equal(true);
      expect(runtime.forwards.at(-1)).to.deep.equal({ pod: "pod1", port: echo.port });
    } finally {
      pf.kill("SIGINT");
      await once(pf, "exit");
      await echo.close();
    }
  }

  it("exec: output and exit 0", async () => {
    const r = await crictl(sock, [
      "exec",
      "--transport",
      "websocket",
      "c1",
      "echo",
      "hello",
      "crictl",
    ]);
    expect(r.stderr).to.equal("");
    expect(r.stdout).to.equal("hello crictl\n");
    expect(r.code).to.equal(0);
    expect(runtime.execs.at(-1)).to.include({
      containerId: "c1",
      hadStdin: false,
      hadStderr: true,
    });
  });

  it("exec: a non-zero exit code is crictl's exit code, stdout and stderr kept apart", async () => {
    const r = await crictl(sock, ["exec", "--transport", "websocket", "c1", "fail"]);
    expect(r.stdout).to.equal("partial\n");
    expect(r.stderr).to.contain("oops\n");
    // client-go turns the status's ExitCode cause into its error; crictl exits 1 with it.
    expect(r.stderr).to.contain("command terminated with exit code 3");
    expect(r.code).to.equal(1);
  });

  it("exec -i: stdin round trip, ended by the client's CLOSE", async () => {
    const r = await crictl(
      sock,
      ["exec", "-i", "--transport", "websocket", "c1", "cat"],
      "data through stdin\n".repeat(1000),
    );
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal("data through stdin\n".repeat(1000));
  });

  it("attach -i: the container's output and stdin", async () => {
    const r = await crictl(
      sock,
      ["attach", "-i", "--transport", "websocket", "c7"],
      "typed into attach\n",
    );
    expect(r.stdout).to.equal("attached to c7\ntyped into attach\n");
    expect(r.code).to.equal(0);
  });

  it("exec -it: a terminal, its size on the resize channel", async () => {
    // crictl wants a real terminal for -t: util-linux `script` gives it one of a known size.
    const cmd = [
      CRICTL,
      ...crictlArgs(sock),
      "exec",
      "-it",
      "--transport",
      "websocket",
      "c1",
      "sizes",
      "1",
    ]
      .map((a) => `'${a}'`)
      .join(" ");
    const r = await new Promise<Run>((resolve) => {
      execFile(
        "script",
        ["-qec", `stty rows 40 cols 100; ${cmd}`, "/dev/null"],
        { timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    expect(r.stdout).to.contain('[{"width":100,"height":40}]');
    expect(r.code).to.equal(0);
    const call = runtime.execs.at(-1)!;
    expect([call.tty, call.hadStdin, call.hadStderr]).to.deep.equal([true, true, false]);
  });

  it("port-forward: 1 MiB there and back through a local port", async () => {
    // crictl tunnels SPDY in WebSocket for port-forward.
    await portForwardRoundTrip(["--transport", "websocket"]);
  });

  describe("through the SPDY transport (crictl's default, what kubelet speaks)", () => {
    it("exec: output, exit codes and stdin", async () => {
      const ok = await crictl(sock, ["exec", "c1", "echo", "over", "spdy"]);
      expect(ok.stdout).to.equal("over spdy\n");
      expect(ok.code).to.equal(0);
      const bad = await crictl(sock, ["exec", "c1", "fail"]);
      expect(bad.stderr).to.contain("command terminated with exit code 3");
      const cat = await crictl(sock, ["exec", "-i", "c1", "cat"], "spdy stdin\n");
      expect(cat.stdout).to.equal("spdy stdin\n");
      expect(cat.code).to.equal(0);
    });

    it("port-forward: 1 MiB there and back", async () => {
      await portForwardRoundTrip([]);
    });
  });

  it("crictl needs nothing but Version before each Exec/Attach/PortForward", () => {
    expect(calls.length % 2).to.equal(0);
    for (let i = 0; i < calls.length; i += 2) {
      expect(calls[i]).to.equal("Version");
      expect(calls[i + 1]).to.be.oneOf(["Exec", "Attach", "PortForward"]);
    }
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function tcpRoundTrip(port: number, data: Buffer): Promise<Buffer> {
  const s = net.connect(port, "127.0.0.1");
  await once(s, "connect");
  const chunks: Buffer[] = [];
  let n = 0;
  const done = new Promise<void>((resolve, reject) => {
    s.on("data", (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n >= data.length) resolve();
    });
    s.on("error", reject);
    s.on("close", () => resolve());
  });
  s.write(data);
  await done;
  s.destroy();
  return Buffer.concat(chunks);
}
