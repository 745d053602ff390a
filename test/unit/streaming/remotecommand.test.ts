// The transport-neutral exec/attach runner: which streams the runtime gets, what the error
// channel says for each outcome and protocol, and that output streams end before the status.
import { expect } from "chai";
import { Duplex, PassThrough, Writable } from "node:stream";
import { createRemoteCommandRunner } from "../../../src/streaming/remotecommand.js";
import type { RemoteCommandRequest, RemoteCommandStreams } from "../../../src/streaming/types.js";
import { FakeStreamingRuntime } from "../../support/fake-streaming-runtime.js";

/** A Writable that records chunks and the order in which streams finished. */
class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  constructor(
    readonly name: string,
    readonly order: string[],
  ) {
    super({
      write: (c: Buffer, _e, cb) => {
        this.chunks.push(c);
        order.push(`${name}:data`);
        cb();
      },
      final: (cb) => {
        order.push(`${name}:end`);
        cb();
      },
    });
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

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

function streams(protocol: string, signal = new AbortController().signal) {
  const order: string[] = [];
  const s = {
    order,
    stdout: new Sink("stdout", order),
    stderr: new Sink("stderr", order),
    error: new Sink("error", order),
    stdin: new PassThrough(),
    resize: new PassThrough(),
  };
  const rc: RemoteCommandStreams = {
    protocol,
    stdin: s.stdin,
    stdout: s.stdout,
    stderr: s.stderr,
    resize: s.resize,
    error: s.error,
    signal,
  };
  return { s, rc };
}

const NON_ZERO_3 =
  '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: 3",' +
  '"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}';

describe("remote command runner", () => {
  const runtime = new FakeStreamingRuntime();
  const run = createRemoteCommandRunner(runtime);

  it("v4: success is a Success status, after stdout and stderr have ended", async () => {
    const { s, rc } = streams("v4.channel.k8s.io");
    await run(execReq(["echo", "hello", "world"]), rc);
    expect(s.stdout.text).to.equal("hello world\n");
    expect(s.error.text).to.equal('{"metadata":{},"status":"Success"}');
    expect(s.order.indexOf("error:data")).to.be.greaterThan(s.order.indexOf("stdout:end"));
    expect(s.order.indexOf("error:data")).to.be.greaterThan(s.order.indexOf("stderr:end"));
    expect(s.order.at(-1)).to.equal("error:end");
  });

  for (const protocol of ["v4.channel.k8s.io", "v5.channel.k8s.io", "v4.base64.channel.k8s.io"]) {
    it(`${protocol}: a non-zero exit is a NonZeroExitCode status carrying the code`, async () => {
      const { s, rc } = streams(protocol);
      await run(execReq(["fail"]), rc);
      expect(s.stdout.text).to.equal("partial\n");
      expect(s.stderr.text).to.equal("oops\n");
      expect(s.error.text).to.equal(NON_ZERO_3);
    });
  }

  it("v4: a runtime error is an InternalError status with its message", async () => {
    const { s, rc } = streams("v4.channel.k8s.io");
    await run(execReq(["boom"]), rc);
    const msg = "error executing command in container: the container is not running";
    expect(JSON.parse(s.error.text)).to.deep.equal({
      metadata: {},
      status: "Failure",
      message: `Internal error occurred: ${msg}`,
      reason: "InternalError",
      details: { causes: [{ message: msg }] },
      code: 500,
    });
  });

  for (const protocol of ["channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", ""]) {
    it(`${protocol || "no protocol"}: plain-text failures and nothing on success`, async () => {
      const ok = streams(protocol);
      await run(execReq(["echo", "x"]), ok.rc);
      expect(ok.s.error.chunks).to.have.length(0);
      expect(ok.s.order).to.include("error:end");
      const bad = streams(protocol);
      await run(execReq(["fail"]), bad.rc);
      expect(bad.s.error.text).to.equal("command terminated with non-zero exit code: 3");
    });
  }

  it("attach: success, and a runtime failure reported as an attach error", async () => {
    const ok = streams("v4.channel.k8s.io");
    const attach = {
      kind: "attach",
      containerId: "c9",
      tty: false,
      stdin: true,
      stdout: true,
      stderr: false,
    } as const;
    const done = run(attach, ok.rc);
    ok.s.stdin.end("typed\n");
    await done;
    expect(ok.s.stdout.text).to.equal("attached to c9\ntyped\n");
    expect(ok.s.error.text).to.equal('{"metadata":{},"status":"Success"}');
    const bad = streams("v4.channel.k8s.io");
    await run({ ...attach, containerId: "gone" }, bad.rc);
    expect((JSON.parse(bad.s.error.text) as { message: string }).message).to.equal(
      'Internal error occurred: error attaching to container: container "gone" not found',
    );
  });

  it("gives the runtime only the streams the request asked for", async () => {
    const { rc } = streams("v4.channel.k8s.io");
    await run(execReq(["echo"], { stdin: false, stdout: true, stderr: false }), rc);
    const call = runtime.execs.at(-1)!;
    expect([call.hadStdin, call.hadStdout, call.hadStderr]).to.deep.equal([false, true, false]);
    // A tty never gets stderr, even if asked for.
    const t = streams("v4.channel.k8s.io");
    await run(execReq(["echo"], { tty: true, stderr: true }), t.rc);
    expect(runtime.execs.at(-1)!.hadStderr).to.equal(false);
    expect(runtime.execs.at(-1)!.tty).to.equal(true);
  });

  it("passes terminal sizes from the resize stream to a tty session", async () => {
    const { s, rc } = streams("v4.channel.k8s.io");
    const done = run(execReq(["sizes", "2"], { tty: true, stderr: false }), rc);
    s.resize.write('{"Width":80,"He');
    s.resize.write('ight":24}{"Width":100,"Height":50}');
    await done;
    expect(JSON.parse(s.stdout.text)).to.deep.equal([
      { width: 80, height: 24 },
      { width: 100, height: 50 },
    ]);
  });

  it("finishes with Duplex output streams whose readable side never ends (SPDY streams)", async () => {
    const { s, rc } = streams("v4.channel.k8s.io");
    const written: Buffer[] = [];
    const duplexOut = new Duplex({
      read: () => undefined,
      write: (c: Buffer, _e, cb) => {
        written.push(c);
        cb();
      },
    });
    await run(execReq(["echo", "duplex"]), { ...rc, stdout: duplexOut });
    expect(Buffer.concat(written).toString()).to.equal("duplex\n");
    expect(s.error.text).to.equal('{"metadata":{},"status":"Success"}');
  });

  it("never rejects, even when the transport's streams are broken", async () => {
    const broken = new Writable({
      write: (_c, _e, cb) => cb(new Error("socket gone")),
    });
    broken.on("error", () => undefined);
    const { rc } = streams("v4.channel.k8s.io");
    await run(execReq(["echo", "x"]), { ...rc, stdout: broken, error: broken });
  });

  it("does not wait for streams that never drain once the session is aborted", async () => {
    const ac = new AbortController();
    const stuck = new Writable({ highWaterMark: 1, write: () => undefined });
    const { rc } = streams("v4.channel.k8s.io", ac.signal);
    const done = run(execReq(["sleep"]), { ...rc, stdout: stuck, error: stuck });
    setTimeout(() => ac.abort(), 20);
    await done;
    expect(runtime.execs.at(-1)!.aborted).to.equal(true);
  });
});
