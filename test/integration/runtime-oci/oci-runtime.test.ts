// OciRuntime against real runc (root): state, delete, update, execSync with output, exit codes,
// env, output caps and timeouts.
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { missingPrereq, waitFor } from "./fixture.js";
import { Harness, type TestContainer } from "./harness.js";

async function cgroupProcs(c: TestContainer): Promise<number[]> {
  const text = await readFile(`/sys/fs/cgroup/pids${c.cgroupsPath}/cgroup.procs`, "utf8");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map(Number);
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("runtime-oci: OciRuntime with runc (root)", function () {
  this.timeout(60_000);
  let h: Harness;
  let c: TestContainer;

  before(function () {
    const why = missingPrereq();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
  });

  beforeEach(async () => {
    h = await Harness.create();
    c = await h.create({
      args: ["/bin/sleep", "1000"],
      env: ["PATH=/bin", "FROM_IMAGE=yes", "FOO=image"],
    });
    await h.runtime.start(c.id);
  });

  afterEach(async () => {
    if (!h) return;
    expect(await h.destroy(), "mounts left").to.deep.equal([]);
  });

  it("state parses a running container; delete is idempotent; unknown ids are undefined/NotFound", async () => {
    const st = await h.runtime.state(c.id);
    expect(st).to.include({ id: c.id, status: "running", pid: c.pid, bundle: c.bundle });
    expect(st?.created).to.match(/^\d{4}-/);
    expect(await h.runtime.state("no-such-container")).to.equal(undefined);
    expect(await caught(h.runtime.start("no-such-container"))).to.have.property(
      "kind",
      "NOT_FOUND",
    );
    expect(await caught(h.runtime.kill("no-such-container", "SIGKILL"))).to.have.property(
      "kind",
      "NOT_FOUND",
    );
    expect(await caught(h.runtime.update("no-such-container", {}))).to.have.property(
      "kind",
      "NOT_FOUND",
    );
    await h.runtime.delete(c.id, true);
    expect(await h.runtime.state(c.id)).to.equal(undefined);
    await h.runtime.delete(c.id, true);
    await h.runtime.delete(c.id);
    await h.runtime.delete("no-such-container");
  });

  it("execSync returns stdout, stderr and the exit code", async () => {
    const r = await h.runtime.execSync(
      c.id,
      { args: ["/bin/sh", "-c", "echo hello; echo oops >&2; exit 5"] },
      10_000,
    );
    expect(r.stdout.toString()).to.equal("hello\n");
    expect(r.stderr.toString()).to.equal("oops\n");
    expect(r.exitCode).to.equal(5);
    expect(r.timedOut).to.equal(false);
    expect(r.truncated).to.equal(false);
  });

  it("execSync inherits the container's env and overrides what the request names", async () => {
    const r = await h.runtime.execSync(
      c.id,
      {
        args: ["/bin/sh", "-c", "echo $FROM_IMAGE $FOO $EXTRA; pwd"],
        env: ["FOO=request", "EXTRA=1"],
        cwd: "/tmp",
      },
      10_000,
    );
    expect(r.stdout.toString()).to.equal("yes request 1\n/tmp\n");
    expect(r.exitCode).to.equal(0);
    const who = await h.runtime.execSync(
      c.id,
      { args: ["/bin/id", "-u"], user: { uid: 1234, gid: 1234 } },
      10_000,
    );
    expect(who.stdout.toString().trim()).to.equal("1234");
  });

  it("execSync of a missing binary answers with the runtime's error and a non-zero code", async () => {
    const r = await h.runtime.execSync(c.id, { args: ["/bin/nope"] }, 10_000);
    expect(r.exitCode).to.not.equal(0);
    expect(r.stderr.toString()).to.match(/nope/);
  });

  it("execSync caps each stream", async () => {
    const r = await h.runtime.execSync(
      c.id,
      { args: ["/bin/sh", "-c", "yes | head -c 100000"] },
      10_000,
      1000,
    );
    expect(r.stdout.length).to.equal(1000);
    expect(r.truncated).to.equal(true);
    expect(r.exitCode).to.equal(0);
  });

  it("execSync kills a command that outlives its timeout, with its children", async () => {
    const before = await cgroupProcs(c);
    expect(before).to.have.length(1);
    const t0 = Date.now();
    const r = await h.runtime.execSync(
      c.id,
      { args: ["/bin/sh", "-c", "echo started; sleep 30 & sleep 30; echo never"] },
      500,
    );
    const took = Date.now() - t0;
    expect(r.timedOut).to.equal(true);
    expect(r.exitCode).to.equal(-1);
    expect(r.stdout.toString()).to.equal("started\n");
    expect(took).to.be.lessThan(3000);
    // Only the container's init is left in its cgroup.
    await waitFor(
      "exec processes gone",
      async () => ((await cgroupProcs(c)).length === 1 ? true : undefined),
      5000,
    );
    expect(await cgroupProcs(c)).to.deep.equal(before);
  });

  it("execSync refuses a stopped container and an unknown one", async () => {
    await h.runtime.kill(c.id, "SIGKILL");
    await waitFor("stopped", async () =>
      (await h.runtime.state(c.id))?.status === "stopped" ? true : undefined,
    );
    expect(await caught(h.runtime.execSync(c.id, { args: ["/bin/true"] }, 1000))).to.have.property(
      "kind",
      "FAILED_PRECONDITION",
    );
    expect(
      await caught(h.runtime.execSync("nope", { args: ["/bin/true"] }, 1000)),
    ).to.have.property("kind", "NOT_FOUND");
  });

  it("update sets the memory limit in the container's cgroup", async () => {
    const file = `/sys/fs/cgroup/memory${c.cgroupsPath}/memory.limit_in_bytes`;
    const limit = 64 * 1024 * 1024;
    await h.runtime.update(c.id, { memory: { limit, swap: limit } });
    expect((await readFile(file, "utf8")).trim()).to.equal(String(limit));
    await h.runtime.update(c.id, JSON.stringify({ memory: { limit: limit * 2, swap: limit * 2 } }));
    expect((await readFile(file, "utf8")).trim()).to.equal(String(limit * 2));
  });
});
