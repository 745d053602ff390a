// Attach to containers' own stdio through conmon's attach socket: stdin that comes back through
// `cat`, several clients at once, stdin_once, a terminal with resizes, and detaching.
import { expect } from "chai";
import type { RuntimeStreams } from "../../../src/runtime/streaming/runtime-streams.js";
import { eventually, startPodEnv, type PodEnv } from "../../support/pod-env.js";
import { runContainer, runtimeStreams, session } from "./helpers.js";

describe("streaming runtime: attach", function () {
  this.timeout(120_000);
  let env: PodEnv;
  let streams: RuntimeStreams;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
    ({ streams } = runtimeStreams(env));
  });
  after(async () => {
    await env?.cleanup();
  });

  async function state(ctrId: string): Promise<string> {
    const st = await env.berthd.client.call.ContainerStatus({ container_id: ctrId });
    return st.status!.state;
  }

  it("sends stdin to a `cat` container and reads what it writes; ending stdin detaches", async () => {
    const ctr = await runContainer(env, "cat", ["cat"], "", { stdin: true });
    const s = session({ stdin: true });
    const attached = streams.attach(ctr, s.io);
    s.stdin.write("hello attach\n");
    await s.stdout.waitFor(/hello attach\n/);
    // A large write crosses conmon's 32 KiB packet limit.
    const big = "x".repeat(100_000) + "\n";
    s.stdin.write(big);
    // (A length check: a regex like x{100000} costs seconds per look.)
    await eventually(async () => expect(s.stdout.buffer.length).to.equal(13 + big.length));
    expect(s.stdout.text).to.equal("hello attach\n" + big);
    s.stdin.end();
    await attached;
    // stdin without stdin_once: conmon keeps the container's stdin open for the next attach.
    expect(await state(ctr)).to.equal("CONTAINER_RUNNING");
    const again = session({ stdin: true });
    const second = streams.attach(ctr, again.io);
    again.stdin.write("again\n");
    await again.stdout.waitFor(/^again\n$/);
    again.abort.abort();
    await second;
    expect(await state(ctr)).to.equal("CONTAINER_RUNNING");
  });

  it("serves two clients at once: both see the output, both can write", async () => {
    const ctr = await runContainer(env, "cat2", ["cat"], "", { stdin: true });
    const a = session({ stdin: true });
    const b = session({ stdin: true });
    const runA = streams.attach(ctr, a.io);
    const runB = streams.attach(ctr, b.io);
    // Both connected before anything is written (conmon sends only what comes after).
    await new Promise((r) => setTimeout(r, 300));
    a.stdin.write("from-a\n");
    await a.stdout.waitFor(/from-a\n/);
    await b.stdout.waitFor(/from-a\n/);
    b.stdin.write("from-b\n");
    await a.stdout.waitFor(/from-b\n/);
    await b.stdout.waitFor(/from-b\n/);
    a.abort.abort();
    b.abort.abort();
    await Promise.all([runA, runB]);
    expect(await state(ctr)).to.equal("CONTAINER_RUNNING");
  });

  it("routes the container's stderr to the client's stderr", async () => {
    const ctr = await runContainer(
      env,
      "errs",
      ["sh", "-c", "while read l; do echo out-$l; echo err-$l >&2; done"],
      "",
      { stdin: true },
    );
    const s = session({ stdin: true });
    const attached = streams.attach(ctr, s.io);
    s.stdin.write("1\n");
    await s.stdout.waitFor(/out-1\n/);
    await s.stderr.waitFor(/err-1\n/);
    expect(s.stdout.text).to.equal("out-1\n");
    expect(s.stderr.text).to.equal("err-1\n");
    s.abort.abort();
    await attached;
  });

  it("with stdin_once, ending stdin closes the container's stdin: `cat` exits, attach ends", async () => {
    const ctr = await runContainer(env, "once", ["cat"], "", { stdin: true, stdin_once: true });
    const s = session({ stdin: true });
    const attached = streams.attach(ctr, s.io);
    s.stdin.write("only once\n");
    await s.stdout.waitFor(/only once\n/);
    s.stdin.end();
    await attached;
    await eventually(async () => expect(await state(ctr)).to.equal("CONTAINER_EXITED"));
  });

  it("ends when the container exits", async () => {
    const ctr = await runContainer(env, "exits", ["sh", "-c", "read x; echo bye-$x; exit 0"], "", {
      stdin: true,
    });
    const s = session({ stdin: true });
    const attached = streams.attach(ctr, s.io);
    s.stdin.write("now\n");
    await attached;
    expect(s.stdout.text).to.equal("bye-now\n");
  });

  it("attaches to a tty container: input echoed, output through the terminal, resizes applied", async () => {
    const ctr = await runContainer(env, "tty", ["sh"], "", { stdin: true, tty: true });
    const s = session({ tty: true, stdin: true });
    s.sizes.push({ width: 91, height: 27 });
    const attached = streams.attach(ctr, s.io);
    await new Promise((r) => setTimeout(r, 300));
    s.stdin.write("echo $((6 * 7)); busybox stty size\n");
    await s.stdout.waitFor(/\r\n42\r\n27 91\r\n/);
    s.sizes.push({ width: 120, height: 40 });
    await new Promise((r) => setTimeout(r, 200));
    s.stdin.write("busybox stty size\n");
    await s.stdout.waitFor(/\r\n40 120\r\n/);
    s.abort.abort();
    await attached;
    expect(await state(ctr)).to.equal("CONTAINER_RUNNING");
  });

  it("fails cleanly for an exited container and an unknown one", async () => {
    const ctr = await runContainer(env, "gone", ["true"], "");
    await eventually(async () => expect(await state(ctr)).to.equal("CONTAINER_EXITED"));
    for (const [id, kind] of [
      [ctr, "FAILED_PRECONDITION"],
      ["f".repeat(64), "NOT_FOUND"],
    ] as const) {
      try {
        await streams.attach(id, session().io);
        expect.fail("attach succeeded");
      } catch (err) {
        expect((err as { kind?: string }).kind).to.equal(kind);
      }
    }
  });
});
