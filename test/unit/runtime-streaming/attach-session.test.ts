// runAttach against a stand-in for conmon's attach socket (a real SOCK_SEQPACKET server) and a
// real FIFO for `ctl`: output routing by the first byte, stdin in packets of at most 32 KiB,
// shutdown on stdin end, resizes, and the ways a session ends. No root, no conmon.
import { execFileSync } from "node:child_process";
import { constants as fsConstants, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { expect } from "chai";
import { runAttach, type AttachTarget } from "../../../src/runtime/streaming/attach-session.js";
import type { StreamIO } from "../../../src/streaming/types.js";
import { Sink, SizeQueue } from "../../support/stream-fakes.js";
import { FakeAttachServer, type ServerConn } from "./seqpacket-server.js";

function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error("condition not met in time"));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe("attach session (fake conmon socket)", () => {
  let dir: string;
  let server: FakeAttachServer;
  let target: AttachTarget;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-attach-"));
    server = new FakeAttachServer(path.join(dir, "attach"));
    target = {
      containerId: "c1",
      socketPath: path.join(dir, "attach"),
      ctlPath: path.join(dir, "ctl"),
      tty: false,
      detachOnStdinEnd: false,
    };
  });
  afterEach(async () => {
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  function io(extra: Partial<StreamIO> = {}): {
    io: StreamIO;
    stdout: Sink;
    stderr: Sink;
    stdin: PassThrough;
    abort: AbortController;
  } {
    const stdout = new Sink();
    const stderr = new Sink();
    const stdin = new PassThrough();
    const abort = new AbortController();
    return {
      io: { tty: false, stdout, stderr, stdin, signal: abort.signal, ...extra },
      stdout,
      stderr,
      stdin,
      abort,
    };
  }

  it("routes stdout (2) and stderr (3) packets, drops others, ends when conmon closes", async () => {
    const s = io();
    const connected = server.nextConnection();
    const attached = runAttach(target, s.io);
    const conn = await connected;
    conn.send(Buffer.from("\x02out-1"));
    conn.send(Buffer.from("\x03err-1"));
    conn.send(Buffer.from("\x01ignored"));
    conn.send(Buffer.from("\x02out-2"));
    await until(() => s.stdout.text === "out-1out-2");
    conn.close();
    await attached;
    expect(s.stdout.text).to.equal("out-1out-2");
    expect(s.stderr.text).to.equal("err-1");
  });

  it("sends stdin in packets of at most 32 KiB, then shuts down its side at stdin's end", async () => {
    const s = io();
    const connected = server.nextConnection();
    const attached = runAttach(target, s.io);
    const conn: ServerConn = await connected;
    const big = Buffer.alloc(100_000, 7);
    s.stdin.write(Buffer.from("hello"));
    s.stdin.end(big);
    await until(() => conn.ended);
    const sizes = conn.packets.map((p) => p.length);
    expect(Math.max(...sizes)).to.be.at.most(32 * 1024);
    expect(Buffer.concat(conn.packets).equals(Buffer.concat([Buffer.from("hello"), big]))).to.equal(
      true,
    );
    // Without detachOnStdinEnd the session waits for the container's output to end.
    let settled = false;
    void attached.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).to.equal(false);
    conn.close();
    await attached;
  });

  it("detaches when stdin ends for a container that keeps its stdin open", async () => {
    const s = io();
    const connected = server.nextConnection();
    const attached = runAttach({ ...target, detachOnStdinEnd: true }, s.io);
    await connected;
    s.stdin.end("bye");
    await attached;
  });

  it("detaches on abort without waiting for the container", async () => {
    const s = io();
    const connected = server.nextConnection();
    const attached = runAttach(target, s.io);
    const conn = await connected;
    s.abort.abort();
    await attached;
    await until(() => conn.ended);
  });

  it("writes resizes to the ctl FIFO as `1 <height> <width>`", async () => {
    execFileSync("mkfifo", [target.ctlPath]);
    const reader = await fs.open(target.ctlPath, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const sizes = new SizeQueue();
    sizes.push({ width: 100, height: 30 });
    const s = io({ tty: true, resize: sizes });
    const connected = server.nextConnection();
    const attached = runAttach({ ...target, tty: true }, s.io);
    const conn = await connected;
    let text = "";
    const read = async (): Promise<void> => {
      const buf = Buffer.alloc(256);
      const { bytesRead } = await reader.read(buf, 0, 256, null).catch(() => ({ bytesRead: 0 }));
      text += buf.subarray(0, bytesRead).toString();
    };
    await until(() => {
      void read();
      return text.includes("1 30 100\n");
    });
    sizes.push({ width: 132, height: 43 });
    await until(() => {
      void read();
      return text.includes("1 43 132\n");
    });
    expect(text).to.equal("1 30 100\n1 43 132\n");
    conn.close();
    await attached;
    await reader.close();
  });

  it("fails with FAILED_PRECONDITION when there is no attach socket", async () => {
    const s = io();
    try {
      await runAttach({ ...target, socketPath: path.join(dir, "missing") }, s.io);
      expect.fail("attach without a socket succeeded");
    } catch (err) {
      expect((err as { kind?: string }).kind).to.equal("FAILED_PRECONDITION");
    }
  });
});
