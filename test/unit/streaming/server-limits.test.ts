// Session limits and lifetimes: maxSessions, the idle and stream-creation timeouts, a SPDY
// server that fails, and close().
import { expect } from "chai";
import { once } from "node:events";
import * as net from "node:net";
import { FailedPreconditionError } from "../../../src/errors.js";
import type { ServeSpdyRemoteCommand } from "../../../src/streaming/types.js";
import { Client, eventually, notSpdy, startServer, type Harness } from "./helpers.js";
import {
  echoReq,
  fakeSpdy,
  pathOf,
  rawRequest,
  readToEnd,
  sleepReq,
  spdyLines,
} from "./raw-http.js";

describe("streaming server: session limits, timeouts and close", function () {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.close();
    h = undefined;
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
});
