// serveSpdyRemoteCommand driven by the SPDY test client the way client-go drives it.
import { expect } from "chai";
import { RST_STATUS } from "../../../src/streaming/spdy/frames.js";
import { serveSpdyRemoteCommand } from "../../../src/streaming/spdy/remote-command.js";
import type {
  RemoteCommandRequest,
  RemoteCommandStreams,
  RunRemoteCommand,
  SessionLimits,
} from "../../../src/streaming/types.js";
import { SpdyTestClient } from "../../support/spdy-test-client.js";

const LIMITS: SessionLimits = { streamCreationTimeoutMs: 5000, idleTimeoutMs: 0 };

type ExecRequest = Extract<RemoteCommandRequest, { kind: "exec" }>;

function execReq(o: Partial<ExecRequest> = {}): ExecRequest {
  return { kind: "exec", containerId: "c1", cmd: ["x"], tty: false, stdin: false, stdout: true, stderr: true, ...o };
} // prettier-ignore

async function serve(
  req: RemoteCommandRequest,
  protocol: string,
  run: RunRemoteCommand,
  limits = LIMITS,
): Promise<{ client: SpdyTestClient; served: Promise<void> }> {
  return SpdyTestClient.connect((conn, head) =>
    serveSpdyRemoteCommand(conn, head, req, protocol, run, limits),
  );
}

function readText(r: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let s = "";
    r.on("data", (c: Buffer) => (s += c.toString()));
    r.on("end", () => resolve(s));
  });
}

describe("serveSpdyRemoteCommand", () => {
  let client: SpdyTestClient | undefined;
  afterEach(() => client?.close());

  it("v4: replies to every stream, runs once with all of them, then FINs, GOAWAYs and closes", async () => {
    let calls = 0;
    let repliedBeforeRun = 0;
    const t = await serve(execReq({ stdin: true }), "v4.channel.k8s.io", async (_r, s) => {
      calls++;
      const all = [s.error, s.stdin, s.stdout, s.stderr] as unknown as { replied: boolean }[];
      repliedBeforeRun = all.filter((x) => x.replied).length;
      const input = await readText(s.stdin!);
      s.stdout!.write(input.toUpperCase());
      s.stderr!.write("warn");
      s.error.write('{"metadata":{},"status":"Success"}');
    });
    client = t.client;
    const error = client.open({ streamType: "error" });
    const stdin = client.open({ streamType: "stdin" });
    const stdout = client.open({ streamType: "stdout" });
    const stderr = client.open({ streamType: "stderr" });
    client.data(stdin, "hello", true);
    await t.served;
    await client.until("the socket to close", () => client!.closed);
    expect(calls).to.equal(1);
    expect(repliedBeforeRun).to.equal(4);
    for (const id of [error, stdin, stdout, stderr]) expect(client.replied(id)).to.equal(true);
    expect(client.dataOf(stdout).toString()).to.equal("HELLO");
    expect(client.dataOf(stderr).toString()).to.equal("warn");
    expect(client.dataOf(error).toString()).to.equal('{"metadata":{},"status":"Success"}');
    for (const id of [error, stdout, stderr]) expect(client.finished(id)).to.equal(true);
    // FIN on the outputs comes before GOAWAY, so the client has everything when it sees it.
    const kinds = client.received.map((r) => r.frame.type);
    expect(kinds.lastIndexOf("data")).to.be.lessThan(kinds.indexOf("goaway"));
  });

  it("tty: stderr is not expected, the resize stream is handed on", async () => {
    let got: RemoteCommandStreams | undefined;
    const t = await serve(
      execReq({ tty: true, stderr: false }),
      "v4.channel.k8s.io",
      async (_r, s) => {
        got = s;
        s.resize!.once("data", (c: Buffer) => s.stdout!.end(`resize:${c.toString()}`));
        await new Promise((r) => s.stdout!.once("finish", r));
        s.error.end();
      },
    );
    client = t.client;
    client.open({ streamType: "error" });
    const stdout = client.open({ streamType: "stdout" });
    const resize = client.open({ streamType: "resize" });
    client.data(resize, '{"Width":80,"Height":24}');
    await t.served;
    expect(got?.stderr).to.equal(undefined);
    expect(client.dataOf(stdout).toString()).to.equal('resize:{"Width":80,"Height":24}');
  });

  it("v2 knows no resize stream: a tty session runs without one", async () => {
    let got: RemoteCommandStreams | undefined;
    const t = await serve(
      execReq({ tty: true, stderr: false }),
      "v2.channel.k8s.io",
      async (_r, s) => {
        got = s;
      },
    );
    client = t.client;
    client.open({ streamType: "error" });
    client.open({ streamType: "stdout" });
    await t.served;
    expect(got?.protocol).to.equal("v2.channel.k8s.io");
    expect(got?.resize).to.equal(undefined);
  });

  it("v1 (channel.k8s.io): the error stream is reset at once and stdin's write side is closed", async () => {
    const t = await serve(
      execReq({ stdin: true, stderr: false }),
      "channel.k8s.io",
      async (_r, s) => {
        s.error.write("dropped, as kubelet drops it");
        s.stdout!.write("out");
      },
    );
    client = t.client;
    const error = client.open({ streamType: "error" });
    const stdin = client.open({ streamType: "stdin" });
    const stdout = client.open({ streamType: "stdout" });
    await t.served;
    expect(client.frames("rst_stream", error)[0]?.status).to.equal(RST_STATUS.CANCEL);
    expect(client.dataOf(error).length).to.equal(0);
    expect(client.finished(stdin)).to.equal(true);
    expect(client.dataOf(stdout).toString()).to.equal("out");
  });

  it("streams of an unknown type are answered but not counted", async () => {
    let ran = false;
    const t = await serve(execReq({ stderr: false }), "v4.channel.k8s.io", async () => {
      ran = true;
    });
    client = t.client;
    const odd = client.open({ streamType: "bogus" });
    client.open({ streamType: "error" });
    await client.until("the reply to the odd stream", () => client!.replied(odd));
    await new Promise((r) => setTimeout(r, 100));
    expect(ran).to.equal(false);
    client.open({ streamType: "stdout" });
    await t.served;
    expect(ran).to.equal(true);
  });

  it("closes the connection without running when the streams do not all come in time", async () => {
    let ran = false;
    const limits = { streamCreationTimeoutMs: 150, idleTimeoutMs: 0 };
    const t = await serve(execReq(), "v4.channel.k8s.io", async () => void (ran = true), limits);
    client = t.client;
    client.open({ streamType: "error" });
    await t.served;
    expect(ran).to.equal(false);
    expect(client.frames("goaway")).to.have.length(1);
  });

  it("the signal aborts when the client goes away mid-run", async () => {
    let aborted = false;
    const t = await serve(execReq({ stderr: false }), "v4.channel.k8s.io", async (_r, s) => {
      await new Promise((r) => s.signal.addEventListener("abort", r));
      aborted = true;
    });
    client = t.client;
    client.open({ streamType: "error" });
    client.open({ streamType: "stdout" });
    await client.until("the replies", () => client!.replied(3));
    client.close();
    await t.served;
    expect(aborted).to.equal(true);
  });
});
