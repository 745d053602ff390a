import { expect } from "chai";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import {
  firstLine,
  probeConfig,
  probeHandler,
  writeProbeBundle,
} from "../../../src/runtime/oci/runtime-handler.js";
import { FakeRunner } from "./fake-runner.js";

describe("runtime-oci: probeHandler (fake runner)", () => {
  let dir: string;
  let binary: string;
  const handler = { name: "crun", path: "/usr/bin/crun", root: "/run/berth/crun" };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-probe-unit-"));
    binary = path.join(dir, "static-bin");
    await writeFile(binary, "#!fake");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a runtime whose create fails is unusable, with the runtime's reason, and is cleaned up", async () => {
    const runner = new FakeRunner(async (c) => {
      if (c.args[0] === "--version") return { stdout: "crun version 1.8.1\ncommit: x\n" };
      if (c.file === "/bin/sh") {
        await writeFile(
          c.opts.env!.BERTH_PROBE_ERR!,
          "cgroups in hybrid mode not supported, drop all controllers from cgroupv2\n",
        );
        return { code: 1 };
      }
      return {};
    });
    const r = await probeHandler(handler, runner, path.join(dir, "tmp"), { staticBinary: binary });
    expect(r).to.deep.equal({
      ok: false,
      reason:
        "cannot create a container: cgroups in hybrid mode not supported, drop all controllers from cgroupv2",
      version: "crun version 1.8.1",
    });
    const create = runner.calls.find((c) => c.file === "/bin/sh")!;
    const id = create.args.at(-1)!;
    expect(id).to.match(/^berth-probe-[0-9a-f]{12}$/);
    expect(create.args.slice(3, 7)).to.deep.equal([
      "/usr/bin/crun",
      "--root",
      "/run/berth/crun",
      "create",
    ]);
    const del = runner.calls.at(-1)!;
    expect(del.args).to.deep.equal(["--root", "/run/berth/crun", "delete", "--force", id]);
    expect(await readdir(path.join(dir, "tmp"))).to.deep.equal([]);
  });

  it("the probe rootfs has /dev and every mount point; its config points at it", async () => {
    const bundle = path.join(dir, "bundle");
    await writeProbeBundle(bundle, "/berth-probe-x/y", binary);
    const rootfs = path.join(bundle, "rootfs");
    // crun opens /dev in the rootfs to make the default device nodes: it must be there.
    expect((await stat(path.join(rootfs, "dev"))).isDirectory()).to.equal(true);
    const cfg = probeConfig("/berth-probe-x/y") as {
      root: { path: string };
      mounts: { destination: string }[];
      process: { args: string[] };
    };
    expect(cfg.root.path).to.equal("rootfs");
    for (const m of cfg.mounts) {
      expect((await stat(path.join(rootfs, m.destination))).isDirectory(), m.destination).to.equal(
        true,
      );
    }
    expect((await stat(path.join(rootfs, cfg.process.args[0]!))).isFile()).to.equal(true);
    expect((await readdir(rootfs)).sort()).to.deep.equal(["bin", "dev", "proc"]);
  });

  it("a working runtime is ok", async () => {
    const runner = new FakeRunner((c) =>
      c.args[0] === "--version" ? { stdout: "runc version 1.1.5\n" } : {},
    );
    const r = await probeHandler({ ...handler, name: "runc" }, runner, dir, {
      staticBinary: binary,
    });
    expect(r).to.deep.equal({ ok: true, reason: "", version: "runc version 1.1.5" });
    expect(
      runner.calls.map((c) =>
        c.file === "/bin/sh" ? "create" : c.args.includes("delete") ? "delete" : c.args[0],
      ),
    ).to.deep.equal(["--version", "create", "delete"]);
  });

  it("a binary that cannot run is unusable without trying to create", async () => {
    const runner = new FakeRunner(() => ({ code: 126, stderr: "exec format error" }));
    const r = await probeHandler(handler, runner, dir, { staticBinary: binary });
    expect(r.ok).to.equal(false);
    expect(r.reason).to.match(/--version failed: exec format error/);
    expect(runner.calls).to.have.length(1);
    expect((await readdir(dir)).sort()).to.deep.equal(["static-bin"]);
  });

  it("the probe config asks for namespaces, a cgroup and nothing from the host", () => {
    const cfg = probeConfig("/berth-probe-x/berth-probe-x") as {
      linux: { cgroupsPath: string };
      mounts: unknown[];
    };
    expect(cfg.linux.cgroupsPath).to.equal("/berth-probe-x/berth-probe-x");
    expect(cfg.mounts).to.deep.equal([{ destination: "/proc", type: "proc", source: "proc" }]);
    expect(firstLine("runc version 1.1.5+ds1\ncommit: y\n")).to.equal("runc version 1.1.5+ds1");
  });
});
