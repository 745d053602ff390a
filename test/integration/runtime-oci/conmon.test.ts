// Real conmon 2.1 + runc (root): create, start, CRI logs, exit files, signals, log reopen, conmon
// surviving its parent, OOM, create failures.
import { expect } from "chai";
import { readFile, rename, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { silentLogger } from "../../../src/log.js";
import { FailedPreconditionError, InternalError } from "../../../src/errors.js";
import { createContainer, processAlive, reopenLog } from "../../../src/runtime/oci/conmon.js";
import { ProcessConmonLauncher } from "../../../src/runtime/oci/conmon-launcher.js";
import { criLogLines, parseCriLog } from "../../../src/runtime/oci/cri-log.js";
import { readExitFile, wasOomKilled } from "../../../src/runtime/oci/exit-file.js";
import { ExitWatcher, type ExitEvent } from "../../../src/runtime/oci/exit-watcher.js";
import { CONMON, makeBundle, missingPrereq, parentPid, randomId, waitFor } from "./fixture.js";
import { Harness } from "./harness.js";

async function logLines(file: string): Promise<{ stream: string; line: string }[]> {
  return criLogLines(parseCriLog(await readFile(file, "utf8").catch(() => "")));
}

async function sessionId(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

describe("runtime-oci: containers under conmon + runc (root)", function () {
  this.timeout(60_000);
  let h: Harness;

  before(function () {
    const why = missingPrereq();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
  });

  beforeEach(async () => {
    h = await Harness.create();
  });

  afterEach(async () => {
    if (!h) return;
    const leftMounts = await h.destroy();
    expect(leftMounts, "mounts left under the test dir").to.deep.equal([]);
  });

  it("creates, starts, logs stdout and stderr in CRI format and records exit code 3", async () => {
    const events: ExitEvent[] = [];
    const watcher = new ExitWatcher(h.exitDir, (e) => events.push(e), {
      logger: silentLogger(),
      rescanIntervalMs: 60_000, // the inotify path must do it alone
    });
    await watcher.start();
    try {
      const c = await h.create({ args: ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"] });
      expect(c.pid).to.be.greaterThan(1);
      expect(processAlive(c.conmonPid)).to.equal(true);
      const created = await h.runtime.state(c.id);
      expect(created?.status).to.equal("created");
      expect(created?.pid).to.equal(c.pid);
      expect(Number((await readFile(c.containerPidFile, "utf8")).trim())).to.equal(c.pid);

      const before = BigInt(Date.now()) * 1_000_000n;
      await h.runtime.start(c.id);
      const exit = await waitFor("exit file", () => readExitFile(h.exitDir, c.id));
      expect(exit.exitCode).to.equal(3);
      expect(exit.finishedAt >= before - 1_000_000_000n).to.equal(true);
      expect((await readFile(path.join(c.persistDir, "exit"), "utf8")).trim()).to.equal("3");

      const ev = await waitFor("exit event", async () => events.find((e) => e.id === c.id));
      expect(ev).to.deep.equal({ id: c.id, exitCode: 3, finishedAt: exit.finishedAt });

      const lines = await waitFor("both log lines", async () => {
        const l = await logLines(c.logPath);
        return l.length >= 2 ? l : undefined;
      });
      expect(lines).to.have.deep.members([
        { stream: "stdout", line: "out" },
        { stream: "stderr", line: "err" },
      ]);
      const raw = await readFile(c.logPath, "utf8");
      expect(raw).to.match(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d std(out|err) F (out|err)\n/,
      );

      expect((await h.runtime.state(c.id))?.status).to.equal("stopped");
      await waitFor("conmon exit", async () => (processAlive(c.conmonPid) ? undefined : true));
      expect(await wasOomKilled(c.persistDir)).to.equal(false);
      expect(events.filter((e) => e.id === c.id)).to.have.length(1);
    } finally {
      watcher.close();
    }
  });

  it("SIGTERM is ignored by a bare sleep as pid 1, SIGKILL ends it with 137", async () => {
    const c = await h.create({ args: ["/bin/sleep", "1000"] });
    await h.runtime.start(c.id);
    expect((await h.runtime.state(c.id))?.status).to.equal("running");
    await h.runtime.kill(c.id, "SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    expect(await readExitFile(h.exitDir, c.id)).to.equal(undefined);
    await h.runtime.kill(c.id, "SIGKILL");
    const exit = await waitFor("exit file", () => readExitFile(h.exitDir, c.id));
    expect(exit.exitCode).to.equal(137);
    // Killing a stopped container is fine (StopContainer is retried by kubelet).
    await h.runtime.kill(c.id, "SIGKILL");
    await h.runtime.kill(c.id, "SIGKILL", true);
  });

  it("SIGTERM reaches a process that traps it", async () => {
    const c = await h.create({
      args: [
        "/bin/sh",
        "-c",
        'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.05; done',
      ],
    });
    await h.runtime.start(c.id);
    await waitFor("ready", async () =>
      (await logLines(c.logPath)).some((l) => l.line === "ready") ? true : undefined,
    );
    await h.runtime.kill(c.id, 15);
    const exit = await waitFor("exit file", () => readExitFile(h.exitDir, c.id));
    expect(exit.exitCode).to.equal(7);
    expect(await logLines(c.logPath)).to.deep.include({ stream: "stdout", line: "got-term" });
  });

  it("reopens the log after kubelet renamed it: new lines land in a new file", async () => {
    const c = await h.create({
      args: [
        "/bin/sh",
        "-c",
        "echo first; while [ ! -e /tmp/next ]; do sleep 0.05; done; echo second; sleep 1000",
      ],
    });
    await h.runtime.start(c.id);
    await waitFor("first line", async () =>
      (await logLines(c.logPath)).some((l) => l.line === "first") ? true : undefined,
    );
    const rotated = `${c.logPath}.20250101-000000`;
    await rename(c.logPath, rotated);
    await reopenLog({ bundle: c.bundle, logPath: c.logPath });
    await writeFile(path.join(c.bundle, "rootfs/tmp/next"), "");
    await waitFor("second line", async () =>
      (await logLines(c.logPath)).some((l) => l.line === "second") ? true : undefined,
    );
    expect((await logLines(c.logPath)).map((l) => l.line)).to.deep.equal(["second"]);
    expect((await logLines(rotated)).map((l) => l.line)).to.deep.equal(["first"]);

    await h.runtime.kill(c.id, "SIGKILL");
    await waitFor("exit file", () => readExitFile(h.exitDir, c.id));
    await waitFor("conmon exit", async () => (processAlive(c.conmonPid) ? undefined : true));
    let err: unknown;
    try {
      await reopenLog({ bundle: c.bundle, logPath: path.join(h.dir, "logs", "never.log") });
    } catch (e) {
      err = e;
    }
    expect(err).to.have.property("kind", "FAILED_PRECONDITION");
  });

  it("conmon is detached: not our child, in its own session, and the parent of the container init", async () => {
    const c = await h.create({ args: ["/bin/sleep", "1000"] });
    await h.runtime.start(c.id);
    const ppid = await parentPid(c.conmonPid);
    expect(ppid).to.be.a("number");
    // Walk up from conmon: berth (this process) must not be an ancestor.
    const ancestors: number[] = [];
    for (let p = ppid; p !== undefined && p > 1; p = await parentPid(p)) ancestors.push(p);
    expect(ancestors).to.not.include(process.pid);
    expect(await sessionId(c.conmonPid)).to.not.equal(await sessionId(process.pid));
    // conmon is the subreaper parent of the container's init.
    expect(await parentPid(c.pid)).to.equal(c.conmonPid);
  });

  it("conmon and its container outlive a parent that is SIGKILLed, and still record the exit", async () => {
    const id = randomId();
    const cgroupsPath = `${h.cgroupParent}/${id}`;
    const bundle = await makeBundle(path.join(h.dir, "bundles", id), {
      args: ["/bin/sh", "-c", "echo alive; sleep 1000"],
      cgroupsPath,
    });
    const logPath = path.join(h.dir, `${id}.log`);
    const persistDir = path.join(h.dir, "containers", id);
    const record = { id, bundle, logPath, persistDir, cgroupsPath, pid: 0, conmonPid: 0 };
    h.track({ ...record, containerPidFile: "", conmonPidFile: "" });
    const res = await h.runner.run(process.execPath, [
      path.join(__dirname, "create-and-die.js"),
      id,
      bundle,
      h.runtime.handler.root,
      logPath,
      h.exitDir,
      persistDir,
      path.join(h.dir, "attach"),
    ]);
    expect(res.signal, res.stderr.toString()).to.equal("SIGKILL");
    const created = JSON.parse(res.stdout.toString()) as { pid: number; conmonPid: number };
    h.track({ ...record, ...created, containerPidFile: "", conmonPidFile: "" });
    await new Promise((r) => setTimeout(r, 200));
    expect(processAlive(created.conmonPid)).to.equal(true);
    expect((await h.runtime.state(id))?.status).to.equal("running");
    await waitFor("log line", async () =>
      (await logLines(logPath)).some((l) => l.line === "alive") ? true : undefined,
    );
    await h.runtime.kill(id, "SIGKILL");
    expect((await waitFor("exit file", () => readExitFile(h.exitDir, id))).exitCode).to.equal(137);
  });

  it("records an OOM kill: exit 137 and conmon's oom marker", async () => {
    const c = await h.create({
      args: ["/bin/sh", "-c", "x=$(yes | head -c 200000000); echo survived"],
      memoryLimit: 16 * 1024 * 1024,
    });
    await h.runtime.start(c.id);
    const exit = await waitFor("exit file", () => readExitFile(h.exitDir, c.id), 30_000);
    expect(exit.exitCode).to.equal(137);
    await waitFor("conmon exit", async () => (processAlive(c.conmonPid) ? undefined : true));
    expect(await wasOomKilled(c.persistDir)).to.equal(true);
  });

  it("a create that the runtime refuses throws with its message and leaves nothing behind", async () => {
    const id = randomId();
    const bundle = await makeBundle(path.join(h.dir, "bundles", id), {
      args: ["/bin/no-such-binary"],
      cgroupsPath: `${h.cgroupParent}/${id}`,
    });
    const logPath = path.join(h.dir, `${id}.log`);
    const persistDir = path.join(h.dir, "containers", id);
    let err: unknown;
    let kicks = 0;
    try {
      await createContainer(
        h.runtime,
        {
          id,
          bundle,
          logPath,
          exitDir: h.exitDir,
          persistDir,
          socketDir: path.join(h.dir, "attach"),
        },
        {
          conmonPath: CONMON,
          launcher: new ProcessConmonLauncher(() => kicks++),
          logger: silentLogger(),
        },
      );
    } catch (e) {
      err = e;
    }
    expect(kicks, "the launcher's beforeSpawn hook (the cgroup warm-up) ran once").to.equal(1);
    // The runtime's own error alone (from its JSON log): a missing binary is the request's fault.
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect((err as Error).message).to.match(/^\w+ create failed: .*no-such-binary/);
    expect((err as Error).message).to.not.include("freezer");
    expect(await h.runtime.state(id)).to.equal(undefined);
    const conmonPid = Number(await readFile(path.join(persistDir, "conmon-pidfile"), "utf8"));
    await waitFor("conmon gone", async () => (processAlive(conmonPid) ? undefined : true));
    expect(await readFile(logPath).catch(() => "absent")).to.equal("absent");
    expect(await readExitFile(h.exitDir, id)).to.equal(undefined);
  });

  it("a bad conmon command line is reported with conmon's own message", async () => {
    const id = randomId();
    const bundle = await makeBundle(path.join(h.dir, "bundles", id), {
      args: ["/bin/true"],
      cgroupsPath: `${h.cgroupParent}/${id}`,
    });
    let err: unknown;
    try {
      await createContainer(
        h.runtime,
        {
          id,
          bundle,
          logPath: path.join(h.dir, "no-such-dir", "x.log"),
          exitDir: h.exitDir,
          persistDir: path.join(h.dir, "containers", id),
          socketDir: path.join(h.dir, "attach"),
        },
        { conmonPath: CONMON, launcher: new ProcessConmonLauncher(), logger: silentLogger() },
      );
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(InternalError);
    expect((err as Error).message).to.match(/conmon failed \(exit status 1\).*log file/i);
  });
});
