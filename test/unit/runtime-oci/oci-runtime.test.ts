import { expect } from "chai";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { OciRuntime, exitStatus } from "../../../src/runtime/oci/oci-runtime.js";
import { FakeRunner, type Call, type Reply } from "./fake-runner.js";

const NOT_EXIST = { code: 1, stderr: 'time="x" level=error msg="container does not exist"\n' };

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("runtime-oci: OciRuntime (fake runner)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-ociruntime-unit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function make(
    answer: (c: Call) => Reply | Promise<Reply>,
    systemd = false,
    beforeExec?: () => void,
  ) {
    const runner = new FakeRunner(answer);
    const rt = new OciRuntime(
      { name: "runc", path: "/usr/sbin/runc", root: "/run/berth/runc" },
      runner,
      {
        tmpDir: path.join(dir, "tmp"),
        cgroupDriver: systemd ? "systemd" : "cgroupfs",
        ...(beforeExec ? { beforeExec } : {}),
      },
    );
    return { runner, rt };
  }

  it("runs the beforeExec hook once right before each exec it starts, and on prepareExec", async () => {
    const seen: number[] = [];
    let reply: Reply = { stdout: '{"id":"c1","status":"running","pid":5,"bundle":""}' };
    const { runner, rt } = make(
      (c) => (c.args.includes("exec") ? { code: 0 } : reply),
      false,
      () => seen.push(runner.calls.length),
    );
    await rt.execSync("c1", { args: ["true"], baseProcess: { env: [] } }, 0);
    // After the state call, before the exec call.
    expect(seen).to.deep.equal([1]);
    expect(runner.calls.map((c) => c.args[2])).to.deep.equal(["state", "exec"]);
    reply = { stdout: '{"id":"c1","status":"stopped","pid":0,"bundle":""}' };
    await caught(rt.execSync("c1", { args: ["true"] }, 0));
    expect(seen, "no hook for an exec refused before it starts").to.deep.equal([1]);
    rt.prepareExec();
    expect(seen).to.deep.equal([1, 3]);
  });

  it("passes --root (and --systemd-cgroup) before every subcommand", async () => {
    let resourcesFile = "";
    let resources = "";
    const { runner, rt } = make(async (c) => {
      if (c.args.includes("update")) {
        resourcesFile = c.args[c.args.length - 2]!;
        resources = await readFile(resourcesFile, "utf8");
      }
      return {};
    }, true);
    await rt.start("c1");
    await rt.kill("c1", "SIGTERM", true);
    await rt.delete("c1", true);
    await rt.update("c1", { memory: { limit: 1 } });
    expect(runner.calls.map((c) => c.args)).to.deep.equal([
      ["--root", "/run/berth/runc", "--systemd-cgroup", "start", "c1"],
      ["--root", "/run/berth/runc", "--systemd-cgroup", "kill", "--all", "c1", "SIGTERM"],
      ["--root", "/run/berth/runc", "--systemd-cgroup", "delete", "--force", "c1"],
      [
        "--root",
        "/run/berth/runc",
        "--systemd-cgroup",
        "update",
        "--resources",
        resourcesFile,
        "c1",
      ],
    ]);
    // The resources go in a file under the tmp dir (crun cannot open a socket as /dev/stdin),
    // removed once the update is done.
    expect(resourcesFile.startsWith(path.join(dir, "tmp") + path.sep)).to.equal(true);
    expect(resources).to.equal('{"memory":{"limit":1}}');
    expect(await readdir(path.join(dir, "tmp"))).to.deep.equal([]);
    expect(runner.calls[3]!.opts.input).to.equal(undefined);
    expect(
      runner.calls.every((c) => c.file === "/usr/sbin/runc" && c.opts.timeoutMs === 30_000),
    ).to.equal(true);
  });

  it("state: parsed, undefined when unknown, thrown otherwise", async () => {
    let reply: Reply = { stdout: '{"id":"c1","status":"running","pid":9,"bundle":"/b"}' };
    const { rt } = make(() => reply);
    expect(await rt.state("c1")).to.include({ id: "c1", status: "running", pid: 9 });
    reply = NOT_EXIST;
    expect(await rt.state("c1")).to.equal(undefined);
    reply = { code: 1, stderr: "permission denied" };
    expect(await caught(rt.state("c1"))).to.have.property("name", "CommandFailedError");
    reply = { code: null, timedOut: true, stderr: "container does not exist" };
    expect(await caught(rt.state("c1"))).to.have.property("name", "CommandFailedError");
  });

  it("delete is idempotent; kill of a stopped container resolves; unknown ids are NotFound", async () => {
    let reply: Reply = NOT_EXIST;
    const { rt } = make(() => reply);
    await rt.delete("c1");
    await rt.delete("c1", true);
    expect(await caught(rt.kill("c1", 9))).to.have.property("kind", "NOT_FOUND");
    expect(await caught(rt.start("c1"))).to.have.property("kind", "NOT_FOUND");
    expect(await caught(rt.update("c1", "{}"))).to.have.property("kind", "NOT_FOUND");
    reply = { code: 1, stderr: 'level=error msg="container not running"' };
    await rt.kill("c1", 9);
    reply = { code: 1, stderr: "some other failure" };
    expect(await caught(rt.kill("c1", 9))).to.have.property("kind", "INTERNAL");
    expect(await caught(rt.delete("c1"))).to.have.property("kind", "INTERNAL");
  });

  it("execSync writes a process.json from the bundle's process and the request", async () => {
    const bundle = path.join(dir, "bundle");
    await mkdir(bundle);
    await writeFile(
      path.join(bundle, "config.json"),
      JSON.stringify({
        process: { args: ["/app"], env: ["PATH=/bin", "A=1"], cwd: "/w", user: { uid: 7, gid: 8 } },
      }),
    );
    let written: unknown;
    const { runner, rt } = make(async (c) => {
      if (c.args.includes("state"))
        return { stdout: JSON.stringify({ id: "c1", status: "running", pid: 5, bundle }) };
      const file = c.args[c.args.indexOf("--process") + 1]!;
      written = JSON.parse(await readFile(file, "utf8"));
      return { code: 3, stdout: "out", stderr: "err" };
    });
    const r = await rt.execSync("c1", { args: ["ls", "-l"], env: ["A=2"] }, 0);
    expect(r).to.deep.equal({
      stdout: Buffer.from("out"),
      stderr: Buffer.from("err"),
      exitCode: 3,
      timedOut: false,
      truncated: false,
    });
    expect(written).to.deep.equal({
      args: ["ls", "-l"],
      env: ["PATH=/bin", "A=2"],
      cwd: "/w",
      user: { uid: 7, gid: 8 },
      terminal: false,
    });
    const exec = runner.calls[1]!;
    expect(exec.args.slice(0, 3)).to.deep.equal(["--root", "/run/berth/runc", "exec"]);
    expect(exec.args).to.include("--pid-file");
    expect(exec.args.at(-1)).to.equal("c1");
    expect(exec.opts.timeoutMs).to.equal(undefined);
    expect(exec.opts.maxOutputBytes).to.equal(16 * 1024 * 1024);
    // The per-exec temp dir is gone.
    expect(await readdir(path.join(dir, "tmp"))).to.deep.equal([]);
  });

  it("execSync past its deadline reports timedOut with exit code -1", async () => {
    const { runner, rt } = make(async (c) => {
      if (c.args.includes("state"))
        return { stdout: '{"id":"c1","status":"running","pid":5,"bundle":""}' };
      await new Promise((r) => setTimeout(r, 300));
      return { code: 137 };
    });
    const r = await rt.execSync("c1", { args: ["sleep", "9"], baseProcess: { env: [] } }, 50);
    expect(r.timedOut).to.equal(true);
    expect(r.exitCode).to.equal(-1);
    expect(runner.calls[1]!.opts.timeoutMs).to.equal(2050);
  });

  it("execSync refuses unknown and non-running containers before running anything", async () => {
    let reply: Reply = NOT_EXIST;
    const { runner, rt } = make(() => reply);
    expect(await caught(rt.execSync("c1", { args: ["x"] }, 0))).to.have.property(
      "kind",
      "NOT_FOUND",
    );
    reply = { stdout: '{"id":"c1","status":"created","pid":5,"bundle":""}' };
    expect(await caught(rt.execSync("c1", { args: ["x"] }, 0))).to.have.property(
      "kind",
      "FAILED_PRECONDITION",
    );
    expect(runner.calls.every((c) => c.args.includes("state"))).to.equal(true);
  });

  it("exitStatus follows the shell convention", () => {
    expect(exitStatus({ code: 4, signal: null })).to.equal(4);
    expect(exitStatus({ code: null, signal: "SIGKILL" })).to.equal(137);
    expect(exitStatus({ code: null, signal: "SIGTERM" })).to.equal(143);
  });
});
