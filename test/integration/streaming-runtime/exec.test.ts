// Streaming exec against real containers (the default runtime handler under conmon): pipes, a
// pty with sizes the container sees, aborts that kill the process, and many at once.
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { expect } from "chai";
import { errorMessage } from "../../../src/errors.js";
import type { RuntimePaths } from "../../../src/runtime/paths.js";
import type { RuntimeStreams } from "../../../src/runtime/streaming/runtime-streams.js";
import { eventually, startPodEnv, type PodEnv } from "../../support/pod-env.js";
import { childProcesses, runContainer, runtimeStreams, session } from "./helpers.js";

describe("streaming runtime: exec", function () {
  this.timeout(120_000);
  let env: PodEnv;
  let streams: RuntimeStreams;
  let paths: RuntimePaths;
  let ctr: string;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
    ({ streams, paths } = runtimeStreams(env));
    ctr = await runContainer(env, "exec", ["sleep", "3600"], "");
  });
  after(async () => {
    await env?.cleanup();
  });

  /** The container's processes as `ps` inside it shows them (pid and args). */
  async function psArgs(ctrId: string): Promise<string> {
    const res = await env.berthd.client.call.ExecSync({
      container_id: ctrId,
      cmd: ["ps", "-o", "pid,args"],
      timeout: 10,
    });
    return Buffer.from(res.stdout).toString("utf8");
  }

  function leftovers(): { pid: number; comm: string }[] {
    return childProcesses().filter((p) => ["runc", "crun", "runc:[2:INIT]"].includes(p.comm));
  }

  afterEach(() => {
    expect(leftovers(), "runtime processes left behind").to.deep.equal([]);
    const tmp = (() => {
      try {
        return readdirSync(paths.tmp).filter((n) => n.startsWith("exec-"));
      } catch {
        return [];
      }
    })();
    expect(tmp, "exec temp dirs left behind").to.deep.equal([]);
  });

  it("runs `echo hi`: its output and exit status 0", async () => {
    const s = session();
    const code = await streams.exec(ctr, ["echo", "hi"], s.io);
    expect(code).to.equal(0);
    expect(s.stdout.text).to.equal("hi\n");
    expect(s.stderr.text).to.equal("");
  });

  it("reports the exit status: `sh -c 'exit 3'` → 3", async () => {
    const s = session();
    expect(await streams.exec(ctr, ["sh", "-c", "exit 3"], s.io)).to.equal(3);
  });

  it("reports a signal as 128 + n", async () => {
    const s = session();
    expect(await streams.exec(ctr, ["sh", "-c", "kill -9 $$"], s.io)).to.equal(137);
  });

  it("reports a command that cannot start: the runtime's message on stderr, non-zero status", async () => {
    const s = session();
    const code = await streams.exec(ctr, ["no-such-command"], s.io);
    expect(code).to.not.equal(0);
    expect(s.stderr.text).to.match(/no-such-command/);
  });

  it("keeps stdout and stderr apart", async () => {
    const s = session();
    const code = await streams.exec(ctr, ["sh", "-c", "echo out; echo err >&2; echo out2"], s.io);
    expect(code).to.equal(0);
    expect(s.stdout.text).to.equal("out\nout2\n");
    expect(s.stderr.text).to.equal("err\n");
  });

  it("round-trips 1 MiB of stdin through `cat`", async () => {
    const s = session({ stdin: true });
    const data = randomBytes(1024 * 1024);
    const running = streams.exec(ctr, ["cat"], s.io);
    s.stdin.end(data);
    expect(await running).to.equal(0);
    expect(s.stdout.buffer.equals(data)).to.equal(true);
  });

  it("gives a command with no stdin an empty one", async () => {
    const s = session();
    expect(await streams.exec(ctr, ["cat"], s.io)).to.equal(0);
    expect(s.stdout.text).to.equal("");
  });

  it("answers NOT_FOUND for an unknown container", async () => {
    const s = session();
    try {
      await streams.exec("0".repeat(64), ["true"], s.io);
      expect.fail("exec in an unknown container succeeded");
    } catch (err) {
      expect((err as { kind?: string }).kind, errorMessage(err)).to.equal("NOT_FOUND");
    }
  });

  it("gives a tty exec the client's size, then follows a resize", async () => {
    const s = session({ tty: true, stdin: true });
    s.sizes.push({ width: 101, height: 31 });
    const running = streams.exec(
      ctr,
      [
        "sh",
        "-c",
        'trap "busybox stty size; exit 7" WINCH; busybox stty size; echo ready; while :; do sleep 0.05; done',
      ],
      s.io,
    );
    await s.stdout.waitFor(/31 101\r?\n[^]*ready/);
    s.sizes.push({ width: 132, height: 43 });
    expect(await running).to.equal(7);
    expect(s.stdout.text).to.match(/43 132/);
  });

  it("starts a tty exec at 80x24 when the client sends no size, and echoes input", async () => {
    const s = session({ tty: true, stdin: true });
    s.sizes.end();
    const running = streams.exec(ctr, ["sh", "-c", "busybox stty size; read x; echo got-$x"], s.io);
    await s.stdout.waitFor(/24 80/);
    s.stdin.write("abc\r");
    expect(await running).to.equal(0);
    expect(s.stdout.text).to.match(/got-abc/);
  });

  for (const tty of [false, true]) {
    it(`kills the process when the client goes away (${tty ? "tty" : "pipes"})`, async () => {
      const marker = tty ? "4242" : "4343";
      const s = session({ tty, stdin: true });
      if (tty) s.sizes.end();
      const running = streams.exec(ctr, ["sh", "-c", `echo started; sleep ${marker}`], s.io);
      await s.stdout.waitFor(/started/);
      await eventually(async () => expect(await psArgs(ctr)).to.include(`sleep ${marker}`));
      s.abort.abort();
      const code = await running;
      expect(code).to.be.greaterThan(128);
      expect(await psArgs(ctr)).not.to.include(`sleep ${marker}`);
    });
  }

  it("ends a session whose pipes a background child still holds once aborted", async () => {
    const s = session();
    const running = streams.exec(ctr, ["sh", "-c", "sleep 4444 & echo bg"], s.io);
    await s.stdout.waitFor(/bg/);
    await new Promise((r) => setTimeout(r, 300));
    let settled = false;
    void running.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 200));
    // Like conmon for CRI-O, the session lasts while the output pipes are open.
    expect(settled).to.equal(false);
    s.abort.abort();
    await running;
    // The shell is gone; the background sleep, in its process group, was killed with it.
    await eventually(async () => expect(await psArgs(ctr)).not.to.include("sleep 4444"));
  });

  it("runs 20 execs at once", async () => {
    const runs = Array.from({ length: 20 }, async (_, i) => {
      const s = session({ stdin: true });
      const running = streams.exec(ctr, ["sh", "-c", `cat; echo n=${i}`], s.io);
      s.stdin.end(`in-${i}\n`);
      return { code: await running, out: s.stdout.text };
    });
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      expect(r.code).to.equal(0);
      expect(r.out).to.equal(`in-${i}\nn=${i}\n`);
    });
  });
});
