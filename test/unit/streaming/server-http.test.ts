// The streaming server's HTTP side: tokens and routes, SPDY/3.1 negotiation handed to the
// injected SPDY server, session limits and timeouts, close(), URLs and TLS.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import * as tls from "node:tls";
import { FailedPreconditionError, ResourceExhaustedError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/log.js";
import { StreamingServer } from "../../../src/streaming/server.js";
import type {
  RemoteCommandRequest,
  ServeSpdyPortForward,
  ServeSpdyRemoteCommand,
  SessionLimits,
} from "../../../src/streaming/types.js";
import { startEchoServer } from "../../support/fake-streaming-runtime.js";
import { Client, eventually, httpStatus, notSpdy, startServer, type Harness } from "./helpers.js";

const echoReq: RemoteCommandRequest = {
  kind: "exec",
  containerId: "c1",
  cmd: ["echo", "over", "spdy"],
  tty: false,
  stdin: false,
  stdout: true,
  stderr: false,
};
const sleepReq: RemoteCommandRequest = { ...echoReq, cmd: ["sleep"] };

interface RawAnswer {
  status: number;
  headers: [string, string][];
  rest: Buffer;
  socket: net.Socket | tls.TLSSocket;
}

/** Sends a raw HTTP request (plus `extra` bytes right after it) and reads the answer's head. */
async function rawRequest(
  port: number,
  lines: string[],
  extra = "",
  connect: () => net.Socket | tls.TLSSocket = () => net.connect(port, "127.0.0.1"),
): Promise<RawAnswer> {
  const socket = connect();
  socket.on("error", () => undefined);
  socket.write(`${lines.join("\r\n")}\r\n\r\n${extra}`);
  let buf = Buffer.alloc(0);
  for (;;) {
    const end = buf.indexOf("\r\n\r\n");
    if (end >= 0) {
      const [statusLine, ...headerLines] = buf.subarray(0, end).toString().split("\r\n");
      const headers = headerLines.map((l): [string, string] => {
        const i = l.indexOf(":");
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
      });
      socket.pause();
      return {
        status: Number(statusLine!.split(" ")[1]),
        headers,
        rest: buf.subarray(end + 4),
        socket,
      };
    }
    const [chunk] = (await once(socket, "data")) as [Buffer];
    buf = Buffer.concat([buf, chunk]);
  }
}

/** Everything the socket sends until it closes. */
async function readToEnd(a: RawAnswer): Promise<string> {
  const chunks = [a.rest];
  a.socket.on("data", (c: Buffer) => chunks.push(c));
  a.socket.resume();
  await once(a.socket, "close");
  return Buffer.concat(chunks).toString();
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}

function spdyLines(method: string, url: string, protocols: string[]): string[] {
  return [
    `${method} ${pathOf(url)} HTTP/1.1`,
    "Host: streaming",
    "Connection: Upgrade",
    "Upgrade: SPDY/3.1",
    ...protocols.map((p) => `X-Stream-Protocol-Version: ${p}`),
  ];
}

/** A stand-in SPDY server: records its calls, runs the session with plain streams and writes
 *  what they carried on the raw connection. */
function fakeSpdy() {
  const calls: { head: string; protocol: string; limits: SessionLimits }[] = [];
  const remoteCommand: ServeSpdyRemoteCommand = async (conn, head, req, protocol, run, limits) => {
    calls.push({ head: head.toString(), protocol, limits });
    const stdout = new PassThrough();
    const error = new PassThrough();
    stdout.on("data", (d: Buffer) => conn.write(`OUT:${d.toString()}`));
    error.on("data", (d: Buffer) => conn.write(`ERR:${d.toString()}`));
    const ac = new AbortController();
    conn.once("close", () => ac.abort());
    await run(req, { protocol, stdout, error, signal: ac.signal });
    conn.end();
    if (!conn.destroyed) await once(conn, "close");
  };
  return { calls, remoteCommand };
}

describe("streaming server: HTTP, SPDY hand-off, limits, URLs, TLS", function () {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.close();
    h = undefined;
  });

  it("answers 404 to unknown tokens and paths, GET and POST alike, and 405 to other methods", async () => {
    h = await startServer();
    const base = `http://127.0.0.1:${h.port}`;
    for (const method of ["GET", "POST"]) {
      expect(await httpStatus(`${base}/exec/nosuchtoken`, method)).to.equal(404);
      expect(await httpStatus(`${base}/portforward/nosuchtoken`, method)).to.equal(404);
      expect(await httpStatus(`${base}/other/x`, method)).to.equal(404);
      expect(await httpStatus(`${base}/exec/a/b`, method)).to.equal(404);
    }
    const url = h.server.url(echoReq);
    expect(await httpStatus(url, "PUT")).to.equal(405);
    // PUT did not use the token up.
    expect(await httpStatus(url, "GET")).to.equal(400);
  });

  it("a request without an upgrade uses its token up (400, then 404)", async () => {
    h = await startServer();
    for (const method of ["GET", "POST"]) {
      const url = h.server.url(echoReq);
      expect(await httpStatus(url, method)).to.equal(400);
      expect(await httpStatus(url, method)).to.equal(404);
    }
  });

  it("a token for another kind of session is 404 (and used up)", async () => {
    h = await startServer();
    const url = h.server.url(echoReq);
    const wrong = url.replace("/exec/", "/attach/");
    expect(await httpStatus(wrong, "GET")).to.equal(404);
    expect(await httpStatus(url, "GET")).to.equal(404);
  });

  it("an expired token is 404", async () => {
    h = await startServer({ tokenTtlMs: 50 });
    const url = h.server.url(echoReq);
    await new Promise((r) => setTimeout(r, 120));
    expect(await httpStatus(url, "GET")).to.equal(404);
  });

  it("refuses new URLs with RESOURCE_EXHAUSTED when maxTokens wait unused", async () => {
    h = await startServer({ maxTokens: 2 });
    h.server.url(echoReq);
    h.server.url(echoReq);
    expect(() => h!.server.url(echoReq)).to.throw(ResourceExhaustedError);
  });

  it("SPDY: picks the client's first supported version from repeated and comma-separated headers", async () => {
    const spdy = fakeSpdy();
    h = await startServer({ spdy: { ...notSpdy, remoteCommand: spdy.remoteCommand } });
    for (const method of ["POST", "GET"]) {
      const url = h.server.url(echoReq);
      const a = await rawRequest(
        h.port,
        spdyLines(method, url, ["v5.channel.k8s.io, v3.channel.k8s.io", "v4.channel.k8s.io"]),
        "FRAMES",
      );
      expect(a.status).to.equal(101);
      expect(a.headers).to.deep.include.members([
        ["connection", "Upgrade"],
        ["upgrade", "SPDY/3.1"],
        ["x-stream-protocol-version", "v3.channel.k8s.io"],
      ]);
      const rest = await readToEnd(a);
      // v3: the status channel says nothing on success.
      expect(rest).to.equal("OUT:over spdy\n");
    }
    expect(spdy.calls.map((c) => c.protocol)).to.deep.equal([
      "v3.channel.k8s.io",
      "v3.channel.k8s.io",
    ]);
    // What the client sent right after its headers reaches the SPDY server as `head`.
    expect(spdy.calls[0]!.head).to.equal("FRAMES");
    expect(spdy.calls[0]!.limits).to.deep.equal({
      streamCreationTimeoutMs: 30_000,
      idleTimeoutMs: 0,
    });
    await eventually(() => h!.observed.ended.length === 2);
    expect(h.observed.ended).to.deep.equal(["exec:success", "exec:success"]);
  });

  it("SPDY: v4 gets the JSON status; no common version is 403 with the accepted list; none offered is 400", async () => {
    const spdy = fakeSpdy();
    h = await startServer({ spdy: { ...notSpdy, remoteCommand: spdy.remoteCommand } });
    const ok = await rawRequest(
      h.port,
      spdyLines("POST", h.server.url(echoReq), ["v4.channel.k8s.io"]),
    );
    expect(await readToEnd(ok)).to.equal('OUT:over spdy\nERR:{"metadata":{},"status":"Success"}');
    const none = await rawRequest(
      h.port,
      spdyLines("POST", h.server.url(echoReq), ["v5.channel.k8s.io", "portforward.k8s.io"]),
    );
    expect(none.status).to.equal(403);
    expect(
      none.headers.filter(([k]) => k === "x-accepted-stream-protocol-versions").map(([, v]) => v),
    ).to.deep.equal([
      "v4.channel.k8s.io",
      "v3.channel.k8s.io",
      "v2.channel.k8s.io",
      "channel.k8s.io",
    ]);
    expect(await readToEnd(none)).to.contain("unable to negotiate protocol");
    const missing = await rawRequest(h.port, spdyLines("POST", h.server.url(echoReq), []));
    expect(missing.status).to.equal(400);
    missing.socket.destroy();
    expect(spdy.calls).to.have.length(1);
  });

  it("SPDY port-forward: negotiates portforward.k8s.io and gives the SPDY server a working forwarder", async () => {
    const echo = await startEchoServer();
    const portForward: ServeSpdyPortForward = async (conn, _head, forward) => {
      // Stand-in for a SPDY data stream: the whole upgraded connection.
      await forward(echo.port, conn, new AbortController().signal);
    };
    h = await startServer({ spdy: { ...notSpdy, portForward } });
    try {
      const url = h.server.url({ kind: "portforward", podSandboxId: "pod1", ports: [] });
      const a = await rawRequest(h.port, spdyLines("POST", url, ["portforward.k8s.io"]));
      expect(a.status).to.equal(101);
      expect(a.headers).to.deep.include.members([
        ["x-stream-protocol-version", "portforward.k8s.io"],
      ]);
      a.socket.end("ping through the pod");
      expect(await readToEnd(a)).to.equal("ping through the pod");
      expect(h.runtime.forwards).to.deep.equal([{ pod: "pod1", port: echo.port }]);
      await eventually(() => h!.observed.ended.length === 1);
      expect(h.observed.ended).to.deep.equal(["portforward:success"]);
    } finally {
      await echo.close();
    }
  });

  it("maxSessions: one more session is 429 and its token stays usable", async () => {
    h = await startServer({ maxSessions: 1 });
    const first = await Client.connect(h.server.url(sleepReq), ["v5.channel.k8s.io"]);
    await first.waitFor((m) => m.channel === 1);
    const url = h.server.url(echoReq);
    let err: unknown;
    try {
      await Client.connect(url, ["v5.channel.k8s.io"]);
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.contain("HTTP 429");
    first.ws.close();
    await eventually(() => h!.observed.ended.length === 1);
    const second = await Client.connect(url, ["v5.channel.k8s.io"]);
    await second.closed;
    expect(second.text(1)).to.equal("over spdy\n");
    // The refused attempt was no session: observed twice, not three times.
    await eventually(() => h!.observed.ended.length === 2);
    expect(h.observed.started).to.deep.equal(["exec", "exec"]);
  });

  it("traffic pushes the idle deadline back", async () => {
    h = await startServer({ limits: { streamCreationTimeoutMs: 30_000, idleTimeoutMs: 300 } });
    const c = await Client.connect(h.server.url({ ...echoReq, cmd: ["cat"], stdin: true }), [
      "v5.channel.k8s.io",
    ]);
    for (let i = 0; i < 8; i++) {
      c.send(0, `${i}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    c.ws.send(Buffer.from([255, 0]));
    const { code } = await c.closed;
    expect(code).to.equal(1000);
    expect(c.text(1)).to.equal("01234567");
    expect(c.text(3)).to.equal('{"metadata":{},"status":"Success"}');
  });

  it("a client that does not finish its request within streamCreationTimeoutMs is cut off", async () => {
    h = await startServer({ limits: { streamCreationTimeoutMs: 300, idleTimeoutMs: 0 } });
    const url = h.server.url(echoReq);
    const sock = net.connect(h.port, "127.0.0.1");
    sock.on("error", () => undefined);
    let answer = "";
    sock.on("data", (d: Buffer) => (answer += d.toString()));
    sock.write(`GET ${pathOf(url)} HTTP/1.1\r\nHost: x\r\n`);
    const t0 = Date.now();
    await once(sock, "close");
    expect(Date.now() - t0).to.be.within(200, 3000);
    expect(answer).to.match(/^HTTP\/1.1 408 /);
    expect(h.observed.started).to.deep.equal([]);
  });

  it("a SPDY server that throws at once ends the session as an error, and nothing else", async () => {
    const remoteCommand: ServeSpdyRemoteCommand = () => {
      throw new Error("broken transport");
    };
    h = await startServer({ spdy: { ...notSpdy, remoteCommand } });
    const a = await rawRequest(
      h.port,
      spdyLines("POST", h.server.url(echoReq), ["v4.channel.k8s.io"]),
    );
    expect(a.status).to.equal(101);
    await readToEnd(a);
    await eventually(() => h!.observed.ended.length === 1);
    expect(h.observed.ended).to.deep.equal(["exec:error"]);
    // The server still serves.
    const c = await Client.connect(h.server.url(echoReq), ["v5.channel.k8s.io"]);
    await c.closed;
    expect(c.text(1)).to.equal("over spdy\n");
  });

  it("closes a session idle for idleTimeoutMs and aborts the runtime", async () => {
    h = await startServer({ limits: { streamCreationTimeoutMs: 30_000, idleTimeoutMs: 200 } });
    const c = await Client.connect(h.server.url(sleepReq), ["v5.channel.k8s.io"]);
    const t0 = Date.now();
    await c.closed;
    expect(Date.now() - t0).to.be.within(150, 2000);
    await eventually(() => h!.runtime.execs[0]!.aborted);
    await eventually(() => h!.observed.ended.length === 1);
    expect(h.observed.ended).to.deep.equal(["exec:error"]);
  });

  it("close() stops listening and ends every live session, WebSocket and SPDY", async () => {
    const spdy = fakeSpdy();
    h = await startServer({ spdy: { ...notSpdy, remoteCommand: spdy.remoteCommand } });
    const port = h.port;
    const c = await Client.connect(h.server.url(sleepReq), ["v5.channel.k8s.io"]);
    const s = await rawRequest(
      port,
      spdyLines("POST", h.server.url(sleepReq), ["v4.channel.k8s.io"]),
    );
    await eventually(() => h!.runtime.execs.length === 2);
    const sClosed = once(s.socket, "close");
    s.socket.resume();
    await h.server.close();
    await c.closed;
    await sClosed;
    expect(h.runtime.execs.map((e) => e.aborted)).to.deep.equal([true, true]);
    expect(h.observed.ended).to.have.length(2);
    const refused = net.connect(port, "127.0.0.1");
    const [e] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(e.code).to.equal("ECONNREFUSED");
    expect(() => h!.server.url(echoReq)).to.throw(FailedPreconditionError);
  });

  it("URLs are absolute and name the bound address (IPv6 in brackets)", async () => {
    h = await startServer({ address: "[::1]:0" });
    const url = h.server.url(echoReq);
    expect(url).to.match(new RegExp(`^http://\\[::1\\]:${h.port}/exec/[A-Za-z0-9_-]+$`));
    const c = await Client.connect(url, ["v5.channel.k8s.io"]);
    await c.closed;
    expect(c.text(1)).to.equal("over spdy\n");
    const unbound = new StreamingServer({
      address: "127.0.0.1:0",
      runtime: h.runtime,
      spdy: notSpdy,
      limits: { streamCreationTimeoutMs: 1000, idleTimeoutMs: 0 },
      maxSessions: 1,
      log: silentLogger(),
    });
    expect(() => unbound.url(echoReq)).to.throw(FailedPreconditionError);
  });

  describe("TLS", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), "berth-stream-tls-"));
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-keyout",
          path.join(dir, "key.pem"),
          "-out",
          path.join(dir, "cert.pem"),
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
        ],
        { stdio: "ignore" },
      );
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("serves https URLs with the given certificate", async () => {
      const certFile = path.join(dir, "cert.pem");
      h = await startServer({ tls: { certFile, keyFile: path.join(dir, "key.pem") } });
      const url = h.server.url(echoReq);
      expect(url.startsWith(`https://127.0.0.1:${h.port}/exec/`)).to.equal(true);
      const c = await Client.connect(url, ["v5.channel.k8s.io"], { ca: readFileSync(certFile) });
      await c.closed;
      expect(c.text(1)).to.equal("over spdy\n");
      // A client that does not trust the certificate does not get in.
      let err: unknown;
      try {
        await Client.connect(h.server.url(echoReq), ["v5.channel.k8s.io"]);
      } catch (e) {
        err = e;
      }
      expect(String(err)).to.match(/self[- ]signed|certificate/i);
    });

    it("with caFile, requires a client certificate signed by it", async () => {
      const certFile = path.join(dir, "cert.pem");
      const keyFile = path.join(dir, "key.pem");
      h = await startServer({ tls: { certFile, keyFile, caFile: certFile } });
      const ca = readFileSync(certFile);
      let err: unknown;
      try {
        const c = await Client.connect(h.server.url(echoReq), ["v5.channel.k8s.io"], { ca });
        await c.closed;
      } catch (e) {
        err = e;
      }
      expect(err, "a client without a certificate must fail").to.not.equal(undefined);
      const c = await Client.connect(h.server.url(echoReq), ["v5.channel.k8s.io"], {
        ca,
        cert: readFileSync(certFile),
        key: readFileSync(keyFile),
      });
      await c.closed;
      expect(c.text(1)).to.equal("over spdy\n");
    });
  });
});
