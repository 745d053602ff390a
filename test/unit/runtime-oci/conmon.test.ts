import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { silentLogger } from "../../../src/log.js";
import { conmonArgs } from "../../../src/runtime/oci/conmon-args.js";
import {
  createContainer,
  readPidFile,
  reopenLog,
  type CreateContainerOptions,
} from "../../../src/runtime/oci/conmon.js";
import type {
  ConmonLaunch,
  ConmonLauncher,
  LaunchHooks,
  LaunchOutcome,
} from "../../../src/runtime/oci/conmon-launcher.js";
import { OciRuntime } from "../../../src/runtime/oci/oci-runtime.js";
import { FakeRunner } from "./fake-runner.js";

class FakeLauncher implements ConmonLauncher {
  launches: { l: ConmonLaunch; hooks: LaunchHooks; timeout: number }[] = [];
  constructor(private readonly act: (l: ConmonLaunch) => Promise<LaunchOutcome>) {}
  async launch(l: ConmonLaunch, hooks: LaunchHooks, timeout: number): Promise<LaunchOutcome> {
    this.launches.push({ l, hooks, timeout });
    if (hooks.beforeStart) await hooks.beforeStart(1234);
    return this.act(l);
  }
}

function argValue(args: string[], flag: string): string {
  return args[args.indexOf(flag) + 1]!;
}

describe("runtime-oci: createContainer (fake conmon)", () => {
  let dir: string;
  let opts: CreateContainerOptions;
  let runner: FakeRunner;
  let runtime: OciRuntime;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-conmon-unit-"));
    await mkdir(path.join(dir, "bundle"));
    await mkdir(path.join(dir, "logs"));
    opts = {
      id: "c1",
      bundle: path.join(dir, "bundle"),
      logPath: path.join(dir, "logs", "c1.log"),
      exitDir: path.join(dir, "exits"),
      persistDir: path.join(dir, "persist", "c1"),
      socketDir: path.join(dir, "attach"),
    };
    runner = new FakeRunner(() => ({}));
    runtime = new OciRuntime({ name: "runc", path: "/usr/sbin/runc", root: "/run/r" }, runner);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A conmon that writes its pid file and reports `sync`. */
  function conmonSaying(sync: string | undefined, exitCode = 0, stderr = ""): FakeLauncher {
    return new FakeLauncher(async (l) => {
      if (exitCode === 0) await writeFile(argValue(l.args, "--conmon-pidfile"), "4321");
      await writeFile(opts.logPath, "");
      return { exitCode, stderr, syncLine: sync, syncTimedOut: false };
    });
  }

  it("launches conmon with the one command line, in the bundle, and returns both pids", async () => {
    await mkdir(opts.exitDir, { recursive: true });
    await writeFile(path.join(opts.exitDir, "c1"), "9"); // stale from an earlier attempt
    const launcher = conmonSaying('{"data": 777}');
    let hookPid = 0;
    const created = await createContainer(
      runtime,
      { ...opts, beforeStart: async (pid) => void (hookPid = pid), createTimeoutMs: 1234 },
      { conmonPath: "/usr/bin/conmon", launcher, logger: silentLogger() },
    );
    expect(created).to.deep.equal({
      pid: 777,
      conmonPid: 4321,
      containerPidFile: path.join(opts.persistDir, "pidfile"),
      conmonPidFile: path.join(opts.persistDir, "conmon-pidfile"),
    });
    const { l, timeout } = launcher.launches[0]!;
    expect(l.conmonPath).to.equal("/usr/bin/conmon");
    expect(l.cwd).to.equal(opts.bundle);
    expect(l.env.PATH).to.be.a("string");
    expect(timeout).to.equal(1234);
    expect(hookPid).to.equal(1234);
    expect(l.args).to.deep.equal(
      conmonArgs({
        id: "c1",
        bundle: opts.bundle,
        runtimePath: "/usr/sbin/runc",
        runtimeRoot: "/run/r",
        systemdCgroup: false,
        logPath: opts.logPath,
        exitDir: opts.exitDir,
        persistDir: opts.persistDir,
        containerPidFile: created.containerPidFile,
        conmonPidFile: created.conmonPidFile,
        socketDir: opts.socketDir,
        runtimeLogPath: path.join(opts.persistDir, "runtime-create.log"),
      }),
    );
    expect(l.args).to.include("--log-format=json");
    expect(existsSync(path.join(opts.exitDir, "c1"))).to.equal(false);
    expect(existsSync(opts.socketDir)).to.equal(true);
    expect(runner.calls).to.deep.equal([]);
  });

  it("a runtime create failure cleans up and throws the runtime's message", async () => {
    const launcher = conmonSaying(
      '{"data": -1, "message": "time=\\"x\\" level=error msg=\\"runc create failed: no such binary\\"\\n"}',
    );
    let err: unknown;
    try {
      await createContainer(runtime, opts, { conmonPath: "/c", launcher, logger: silentLogger() });
    } catch (e) {
      err = e;
    }
    expect(err).to.have.property("kind", "INTERNAL");
    expect((err as Error).message).to.equal(
      "container create failed: runc create failed: no such binary",
    );
    expect(runner.calls.map((c) => c.args.slice(2))).to.deep.equal([["delete", "--force", "c1"]]);
    expect(existsSync(opts.logPath)).to.equal(false);
  });

  it("conmon's own failure carries its stderr; a silent sync pipe and a timeout are errors", async () => {
    const cases: [FakeLauncher, RegExp][] = [
      [
        conmonSaying(undefined, 1, "[conmon:e]: Failed to open log file"),
        /exit status 1\): \[conmon:e\]: Failed to open log file/,
      ],
      [conmonSaying(undefined), /without reporting/],
      [
        new FakeLauncher(async () => ({
          exitCode: 0,
          stderr: "",
          syncLine: undefined,
          syncTimedOut: true,
        })),
        /did not finish within 60000 ms/,
      ],
      [
        new FakeLauncher(async () => ({
          exitCode: 0,
          stderr: "",
          syncLine: '{"data": 5}',
          syncTimedOut: false,
        })),
        /no pid file/,
      ],
    ];
    for (const [launcher, re] of cases) {
      let err: unknown;
      try {
        await createContainer(runtime, opts, {
          conmonPath: "/c",
          launcher,
          logger: silentLogger(),
        });
      } catch (e) {
        err = e;
      }
      expect((err as Error | undefined)?.message).to.match(re);
    }
  });

  it("readPidFile tolerates absence and garbage", async () => {
    const f = path.join(dir, "pid");
    expect(await readPidFile(f)).to.equal(undefined);
    await writeFile(f, "123\n");
    expect(await readPidFile(f)).to.equal(123);
    await writeFile(f, "x");
    expect(await readPidFile(f)).to.equal(undefined);
  });
});

describe("runtime-oci: reopenLog", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-reopen-unit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("without a ctl FIFO (no conmon) it is a failed precondition and creates no file", async () => {
    const logPath = path.join(dir, "0.log");
    let err: unknown;
    try {
      await reopenLog({ bundle: dir, logPath });
    } catch (e) {
      err = e;
    }
    expect(err).to.have.property("kind", "FAILED_PRECONDITION");
    expect(existsSync(logPath)).to.equal(false);
  });

  it("writes the reopen message and waits for a new file at the log path", async () => {
    const ctl = path.join(dir, "ctl"); // a plain file stands in for conmon's FIFO
    await writeFile(ctl, "");
    const logPath = path.join(dir, "0.log");
    await writeFile(logPath, "old");
    setTimeout(() => {
      void writeFile(`${logPath}.tmp`, "").then(() => rename(`${logPath}.tmp`, logPath));
    }, 50);
    await reopenLog({ bundle: dir, logPath, timeoutMs: 2000 });
    expect(await readFile(ctl, "utf8")).to.equal("2 0 0\n");
    expect(await readFile(logPath, "utf8")).to.equal("");
  });

  it("gives up when no new file appears", async () => {
    await writeFile(path.join(dir, "ctl"), "");
    let err: unknown;
    try {
      await reopenLog({ bundle: dir, logPath: path.join(dir, "0.log"), timeoutMs: 100 });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.match(/did not reopen/);
  });
});
