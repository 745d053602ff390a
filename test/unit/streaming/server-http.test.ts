// The streaming server's HTTP side: tokens and routes, and SPDY/3.1 negotiation handed to the
// injected SPDY server.
import { expect } from "chai";
import { ResourceExhaustedError } from "../../../src/errors.js";
import type { ServeSpdyPortForward } from "../../../src/streaming/types.js";
import { startEchoServer } from "../../support/fake-streaming-runtime.js";
import { eventually, httpStatus, notSpdy, startServer, type Harness } from "./helpers.js";
import { echoReq, fakeSpdy, rawRequest, readToEnd, spdyLines } from "./raw-http.js";

describe("streaming server: tokens, routes and the SPDY hand-off", function () {
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
        spdyLines(method, url, ["v6.channel.k8s.io, v3.channel.k8s.io", "v4.channel.k8s.io"]),
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
      spdyLines("POST", h.server.url(echoReq), ["v6.channel.k8s.io", "portforward.k8s.io"]),
    );
    expect(none.status).to.equal(403);
    expect(
      none.headers.filter(([k]) => k === "x-accepted-stream-protocol-versions").map(([, v]) => v),
    ).to.deep.equal([
      "v5.channel.k8s.io",
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
});
