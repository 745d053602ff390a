// Acceptance of exec, attach and port-forward with the real client: cri-tools' crictl (v1.32.0,
// from the conformance kit) against a real berthd, over SPDY (what kubelet speaks) and over
// WebSocket. Skips, saying why, where the kit is not next to the checkout.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { expect } from "chai";
import { type PodEnv, eventually, runPodWith, startPodEnv } from "../../support/pod-env.js";
import { freePort } from "../../support/free-port.js";
import { CRICTL, run, ttyExecWithResize } from "../../support/crictl.js";

/** Sends `data` through 127.0.0.1:port and reads back as many bytes. */
/** Sends `data` and reads as many bytes back; fails (never hangs) when they do not all come. */
function roundTrip(port: number, data: Buffer, timeoutMs = 30_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    let n = 0;
    const short = (why: string) => new Error(`${why} after ${n} of ${data.length} bytes came back`);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(short(`no more data for ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on("data", (b: Buffer) => {
      got.push(b);
      n += b.length;
      if (n >= data.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(Buffer.concat(got));
      }
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      if (n < data.length) reject(short("connection closed"));
    });
    sock.on("connect", () => sock.write(data));
  });
}

for (const transport of ["spdy", "websocket"] as const) {
  describe(`streaming with crictl over ${transport}`, function () {
    this.timeout(120_000);
    let env: PodEnv;
    let ctrId: string;
    let podId: string;
    const crictl = (args: string[], input?: string, timeoutMs?: number) =>
      run(
        CRICTL,
        [
          "--runtime-endpoint",
          `unix://${env.berthd.socket}`,
          "--image-endpoint",
          `unix://${env.berthd.socket}`,
          "--timeout",
          "20s",
          ...args,
        ],
        input,
        timeoutMs,
      );

    /** `crictl port-forward` from a free local port, once it says it is forwarding. */
    const portForward = async (remote: number) => {
      const local = await freePort();
      const child = spawn(CRICTL, [
        "--runtime-endpoint",
        `unix://${env.berthd.socket}`,
        "port-forward",
        "--transport",
        transport,
        podId,
        `${local}:${remote}`,
      ]);
      let out = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr.on("data", (b: Buffer) => (out += b.toString()));
      try {
        await eventually(async () => expect(out).to.include("Forwarding from"), 15_000);
      } catch (err) {
        child.kill("SIGTERM");
        throw err;
      }
      return { local, child };
    };

    before(async function () {
      if (!existsSync(CRICTL)) this.skip();
      env = await startPodEnv();
      ({ ctrId, podId } = await runPodWith(env, `stream-${transport}`, [
        "/bin/sh",
        "-c",
        "/bin/busybox nc -ll -p 9000 -e /bin/busybox head -c 300000 /dev/zero & " +
          "exec /bin/busybox nc -ll -p 8080 -e /bin/cat",
      ]));
    });
    after(async () => {
      await env?.cleanup();
    });
    afterEach(function () {
      // berthd's side of a failure (its log is kept in memory, not on disk).
      if (this.currentTest?.state === "failed") console.log(env.berthd.logs.slice(-8000));
    });

    it("exec prints the command's output and exits 0", async () => {
      const r = await crictl(["exec", "--transport", transport, ctrId, "echo", "hello berth"]);
      expect(r.stdout).to.equal("hello berth\n");
      expect(r.code, r.stderr).to.equal(0);
    });

    it("exec reports a non-zero exit code", async () => {
      // crictl itself exits 1 and names the command's code, as it does against containerd.
      const r = await crictl(["exec", "--transport", transport, ctrId, "sh", "-c", "exit 3"]);
      expect(r.stderr).to.include("command terminated with exit code 3");
      expect(r.code).to.equal(1);
    });

    it("exec -i sends stdin through and back", async () => {
      const r = await crictl(["exec", "-i", "--transport", transport, ctrId, "cat"], "data\n");
      expect(r.stdout).to.equal("data\n");
      expect(r.code, r.stderr).to.equal(0);
    });

    it("exec -it runs under a tty whose size and resize the container sees", async () => {
      // script(1) gives crictl a terminal of the test's making, resized a moment later.
      const r = await ttyExecWithResize(env.berthd.socket, ctrId, transport);
      expect(r.stdout).to.match(/30 100\r?\n/);
      expect(r.stdout).to.match(/40 120\r?\n/);
      expect(r.code, r.stdout).to.equal(0);
    });

    it("twenty execs at once each get their own output", async () => {
      const runs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          crictl(["exec", "--transport", transport, ctrId, "echo", `session-${i}`], "", 60_000),
        ),
      );
      for (const [i, r] of runs.entries()) {
        expect(r.stdout, r.stderr).to.equal(`session-${i}\n`);
        expect(r.code).to.equal(0);
      }
    });

    it("a client killed mid-stream leaves no process in the container", async () => {
      const marker = transport === "spdy" ? "4241" : "4242";
      const ps = async () =>
        (
          await env.berthd.client.call.ExecSync({ container_id: ctrId, cmd: ["ps"], timeout: "10" })
        ).stdout.toString();
      const child = spawn(CRICTL, [
        "--runtime-endpoint",
        `unix://${env.berthd.socket}`,
        "exec",
        "--transport",
        transport,
        ctrId,
        "sleep",
        marker,
      ]);
      try {
        await eventually(async () => expect(await ps()).to.include(`sleep ${marker}`));
      } finally {
        child.kill("SIGKILL");
      }
      await eventually(async () => expect(await ps()).to.not.include(`sleep ${marker}`));
    });

    it("attach connects to a container's stdin and stdout", async () => {
      const { ctrId: catId } = await runPodWith(
        env,
        `attach-${transport}`,
        ["/bin/cat"],
        {},
        { stdin: true, stdin_once: true },
      );
      const r = await crictl(["attach", "-i", "--transport", transport, catId], "ping\n");
      expect(r.stdout).to.equal("ping\n");
      await eventually(async () => {
        const st = await env.berthd.client.call.ContainerStatus({ container_id: catId });
        expect(st.status?.state).to.equal("CONTAINER_EXITED");
      });
    });

    it("counts its sessions in /metrics", async () => {
      await crictl(["exec", "--transport", transport, ctrId, "true"]);
      const text = await env.berthd.metricsText();
      const ended = /^berth_streaming_sessions_total\{kind="exec",result="success"\} (\d+)$/m.exec(
        text,
      );
      expect(Number(ended?.[1] ?? 0), text.slice(0, 500)).to.be.at.least(1);
      expect(text).to.match(/^berth_streaming_sessions\{kind="exec"\} 0$/m);
    });

    it("port-forward ends the client's connection when the server closes it", async () => {
      const { local, child } = await portForward(9000);
      try {
        const got = await new Promise<number>((resolve, reject) => {
          let n = 0;
          const sock = net.connect(local, "127.0.0.1");
          const timer = setTimeout(() => reject(new Error(`no end after ${n} bytes`)), 10_000);
          sock.on("data", (b: Buffer) => (n += b.length));
          sock.on("error", reject);
          sock.on("close", () => {
            clearTimeout(timer);
            resolve(n);
          });
        });
        expect(got).to.equal(300000);
      } finally {
        child.kill("SIGTERM");
      }
    });

    it("port-forward carries 1 MiB intact, on two connections at once", async () => {
      const { local, child } = await portForward(8080);
      try {
        const a = Buffer.alloc(1 << 20);
        const b = Buffer.alloc(1 << 20);
        for (let i = 0; i < a.length; i++) {
          a[i] = (i * 7) & 0xff;
          b[i] = (i * 13 + 5) & 0xff;
        }
        const [ra, rb] = await Promise.all([roundTrip(local, a), roundTrip(local, b)]);
        expect(ra.equals(a), "first connection's bytes").to.equal(true);
        expect(rb.equals(b), "second connection's bytes").to.equal(true);
      } finally {
        child.kill("SIGTERM");
      }
    });
  });
}
