// exec and attach over WebSocket with the `ws` client: every subprotocol, the first message,
// the status and the close, v5 half-close, resize, many sessions at once, and a client that
// disappears mid-stream.
import { expect } from "chai";
import type { RemoteCommandRequest } from "../../../src/streaming/types.js";
import { Client, eventually, startServer, type Harness } from "./helpers.js";

type ExecRequest = Extract<RemoteCommandRequest, { kind: "exec" }>;

function execReq(cmd: string[], extra: Partial<ExecRequest> = {}): ExecRequest {
  return {
    kind: "exec",
    containerId: "c1",
    cmd,
    tty: false,
    stdin: false,
    stdout: true,
    stderr: true,
    ...extra,
  };
}

const SUCCESS = '{"metadata":{},"status":"Success"}';
const NON_ZERO_3 =
  '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: 3",' +
  '"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}';

describe("streaming server: exec and attach over WebSocket", function () {
  let h: Harness;
  beforeEach(async () => {
    h = await startServer();
  });
  afterEach(async () => {
    await h.server.close();
  });

  it("v5: an empty stdout message first, the output, the Success status, then close 1000", async () => {
    const c = await Client.connect(h.server.url(execReq(["echo", "hi", "there"])), [
      "v5.channel.k8s.io",
    ]);
    const { code } = await c.closed;
    expect(c.protocol).to.equal("v5.channel.k8s.io");
    expect(code).to.equal(1000);
    const first = c.messages[0]!;
    expect(first.channel).to.equal(1);
    expect(first.data.length).to.equal(0);
    expect(first.text).to.equal(false);
    expect(c.text(1)).to.equal("hi there\n");
    expect(c.text(3)).to.equal(SUCCESS);
    expect(c.messages.at(-1)!.channel).to.equal(3);
    expect(h.observed.started).to.deep.equal(["exec"]);
    await eventually(() => h.observed.ended.length === 1);
    expect(h.observed.ended).to.deep.equal(["exec:success"]);
  });

  it("the first message goes to stderr, or to the error channel, when stdout is not wanted", async () => {
    const c = await Client.connect(
      h.server.url(execReq(["fail"], { stdout: false, stderr: true })),
      ["v4.channel.k8s.io"],
    );
    await c.closed;
    expect(c.messages[0]!.channel).to.equal(2);
    expect(c.messages[0]!.data.length).to.equal(0);
    expect(c.text(1)).to.equal(""); // stdout was not asked for: nothing is sent on it
    expect(c.text(2)).to.equal("oops\n");
    const d = await Client.connect(
      h.server.url(execReq(["line"], { stdin: true, stdout: false, stderr: false })),
      ["v4.channel.k8s.io"],
    );
    d.send(0, "x\n");
    await d.closed;
    expect(d.messages[0]!.channel).to.equal(3);
    expect(d.messages[0]!.data.length).to.equal(0);
  });

  it("v4: a non-zero exit code is reported with its NonZeroExitCode status", async () => {
    const c = await Client.connect(h.server.url(execReq(["fail"])), ["v4.channel.k8s.io"]);
    await c.closed;
    expect(c.text(1)).to.equal("partial\n");
    expect(c.text(2)).to.equal("oops\n");
    expect(c.text(3)).to.equal(NON_ZERO_3);
    await eventually(() => h.observed.ended.length === 1);
    expect(h.observed.ended).to.deep.equal(["exec:success"]);
  });

  it("v4: a runtime error is reported as an InternalError status and observed as an error", async () => {
    const c = await Client.connect(h.server.url(execReq(["boom"])), ["v4.channel.k8s.io"]);
    await c.closed;
    const status = JSON.parse(c.text(3)) as { status: string; reason: string; message: string };
    expect(status.status).to.equal("Failure");
    expect(status.reason).to.equal("InternalError");
    expect(status.message).to.contain("the container is not running");
    await eventually(() => h.observed.ended.length === 1);
    expect(h.observed.ended).to.deep.equal(["exec:error"]);
  });

  it("v5: CLOSE on channel 0 ends the command's stdin", async () => {
    const c = await Client.connect(h.server.url(execReq(["cat"], { stdin: true })), [
      "v5.channel.k8s.io",
    ]);
    c.send(0, "hello ");
    c.send(0, "world");
    c.ws.send(Buffer.from([255, 0]));
    const { code } = await c.closed;
    expect(code).to.equal(1000);
    expect(c.text(1)).to.equal("hello world");
    expect(c.text(3)).to.equal(SUCCESS);
  });

  it("v4: [255, 0] is not a close signal (channel 255 is unknown before v5)", async () => {
    const c = await Client.connect(h.server.url(execReq(["line"], { stdin: true })), [
      "v4.channel.k8s.io",
    ]);
    c.ws.send(Buffer.from([255, 0]));
    c.send(0, "still open\n");
    await c.closed;
    expect(c.text(1)).to.equal("still open\n");
  });

  for (const protocol of ["v4.base64.channel.k8s.io", "base64.channel.k8s.io"]) {
    it(`${protocol}: text messages with a channel digit and base64 data, both ways`, async () => {
      const c = await Client.connect(h.server.url(execReq(["line"], { stdin: true })), [protocol]);
      c.send(0, Buffer.from([0xff, 0x00, 0x41, 0x0a]));
      await c.closed;
      expect(c.messages.every((m) => m.text)).to.equal(true);
      expect(c.messages[0]!.channel).to.equal(1);
      expect(c.channel(1)).to.deep.equal(Buffer.from([0xff, 0x00, 0x41, 0x0a]));
      if (protocol.startsWith("v4.")) expect(c.text(3)).to.equal(SUCCESS);
      else expect(c.channel(3).length).to.equal(0);
    });
  }

  it("base64.channel.k8s.io: a failure is plain text on the error channel", async () => {
    const c = await Client.connect(h.server.url(execReq(["fail"])), ["base64.channel.k8s.io"]);
    await c.closed;
    expect(c.text(3)).to.equal("command terminated with non-zero exit code: 3");
  });

  it("channel.k8s.io and no subprotocol at all: binary channels, v1 status", async () => {
    for (const protocols of [["channel.k8s.io"], undefined]) {
      const c = await Client.connect(h.server.url(execReq(["fail"])), protocols);
      await c.closed;
      expect(c.protocol).to.equal(protocols?.[0] ?? "");
      expect(c.text(1)).to.equal("partial\n");
      expect(c.text(3)).to.equal("command terminated with non-zero exit code: 3");
    }
  });

  it("takes the client's first supported subprotocol and refuses when none is supported", async () => {
    const c = await Client.connect(h.server.url(execReq(["echo"])), [
      "v9.channel.k8s.io",
      "v4.base64.channel.k8s.io",
      "v5.channel.k8s.io",
    ]);
    await c.closed;
    expect(c.protocol).to.equal("v4.base64.channel.k8s.io");
    let err: unknown;
    try {
      await Client.connect(h.server.url(execReq(["echo"])), ["v9.channel.k8s.io"]);
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.contain("HTTP 403");
    expect(h.runtime.execs).to.have.length(1);
  });

  it("tty: resize messages split across WebSocket messages reach the runtime in order", async () => {
    const c = await Client.connect(
      h.server.url(execReq(["sizes", "3"], { tty: true, stdin: true, stderr: false })),
      ["v5.channel.k8s.io"],
    );
    c.send(4, '{"Width":80,');
    c.send(4, '"Height":24}{"Width":100,"Height"');
    c.send(4, ':30}\n{"Width":7,"Height":8}');
    await c.closed;
    expect(JSON.parse(c.text(1))).to.deep.equal([
      { width: 80, height: 24 },
      { width: 100, height: 30 },
      { width: 7, height: 8 },
    ]);
    expect(h.runtime.execs[0]!.hadStderr).to.equal(false);
  });

  it("tty: a flood of resize data the runtime never reads does not stall stdin", async () => {
    const c = await Client.connect(
      h.server.url(execReq(["cat"], { tty: true, stdin: true, stderr: false })),
      ["v5.channel.k8s.io"],
    );
    const size = Buffer.from('{"Width":80,"Height":24}'.repeat(400));
    for (let i = 0; i < 100; i++) c.send(4, size); // ~1 MiB of sizes nobody reads
    c.send(0, "still flowing");
    c.ws.send(Buffer.from([255, 0]));
    await c.closed;
    expect(c.text(1)).to.equal("still flowing");
    expect(c.text(3)).to.equal(SUCCESS);
  });

  it("attach: the container's output and stdin, ended by CLOSE", async () => {
    const c = await Client.connect(
      h.server.url({
        kind: "attach",
        containerId: "ctr",
        tty: false,
        stdin: true,
        stdout: true,
        stderr: true,
      }),
      ["v5.channel.k8s.io"],
    );
    await c.waitFor((m) => m.data.toString().includes("attached"));
    c.send(0, "typed\n");
    c.ws.send(Buffer.from([255, 0]));
    await c.closed;
    expect(c.text(1)).to.equal("attached to ctr\ntyped\n");
    expect(c.text(3)).to.equal(SUCCESS);
    await eventually(() => h.observed.ended.length === 1);
    expect(h.observed.ended).to.deep.equal(["attach:success"]);
  });

  it("runs 20 exec sessions at once, each with its own output", async () => {
    const clients = await Promise.all(
      Array.from({ length: 20 }, () =>
        Client.connect(h.server.url(execReq(["cat"], { stdin: true })), ["v5.channel.k8s.io"]),
      ),
    );
    clients.forEach((c, i) => {
      c.send(0, `session ${i} `.repeat(100));
      c.ws.send(Buffer.from([255, 0]));
    });
    await Promise.all(clients.map((c) => c.closed));
    clients.forEach((c, i) => {
      expect(c.text(1)).to.equal(`session ${i} `.repeat(100));
      expect(c.text(3)).to.equal(SUCCESS);
    });
    await eventually(() => h.observed.ended.length === 20);
    expect(h.observed.started).to.have.length(20);
    expect(new Set(h.observed.ended)).to.deep.equal(new Set(["exec:success"]));
  });

  it("a client killed mid-stream aborts the runtime's signal and is observed as an error", async () => {
    const c = await Client.connect(h.server.url(execReq(["sleep"], { stdin: true })), [
      "v5.channel.k8s.io",
    ]);
    await c.waitFor((m) => m.channel === 1);
    const aborted = h.runtime.abortSeen;
    // No close frame: the TCP connection just goes away.
    (c.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    await aborted;
    expect(h.runtime.execs[0]!.aborted).to.equal(true);
    await eventually(() => h.observed.ended.length === 1);
    expect(h.observed.ended).to.deep.equal(["exec:error"]);
    // The HTTP server's close waits for every socket it accepted: none may be left behind.
    const t0 = Date.now();
    await h.server.close();
    expect(Date.now() - t0).to.be.lessThan(1000);
  });

  it("a token works once: the second connection gets 404", async () => {
    const url = h.server.url(execReq(["echo"]));
    const c = await Client.connect(url, ["v5.channel.k8s.io"]);
    await c.closed;
    let err: unknown;
    try {
      await Client.connect(url, ["v5.channel.k8s.io"]);
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.contain("HTTP 404");
  });
});
