// probeHandler against the real runtimes on this host (root): runc works; crun 1.8 refuses the
// hybrid cgroup layout while cgroup2 holds a controller. Each probe is fast and leaves nothing.
import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { ProcessRunner } from "../../../src/util/command.js";
import { probeHandler, writeProbeBundle } from "../../../src/runtime/oci/runtime-handler.js";
import { CRUN, RUNC, missingPrereq, mountsUnder } from "./fixture.js";
import { unifiedControllers } from "../../support/hugetlb-v1.js";

/** The probe must take < 1 s; on a host busy with other work (load above its cores) allow 3 s. */
function timeBudgetMs(): number {
  return os.loadavg()[0]! < os.cpus().length ? 1000 : 3000;
}

async function probeCgroupsLeft(): Promise<string[]> {
  const left: string[] = [];
  for (const ctrl of await readdir("/sys/fs/cgroup")) {
    const names = await readdir(path.join("/sys/fs/cgroup", ctrl)).catch(() => []);
    for (const n of names) if (n.startsWith("berth-probe-")) left.push(`${ctrl}/${n}`);
  }
  return left;
}

describe("runtime-oci: probeHandler (root)", function () {
  this.timeout(30_000);
  const runner = new ProcessRunner();
  let dir: string;

  before(function () {
    const why = missingPrereq();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
  });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-probe-test-"));
  });

  afterEach(async () => {
    if (!dir) return;
    expect(await mountsUnder(dir)).to.deep.equal([]);
    await rm(dir, { recursive: true, force: true });
  });

  it("runc can run containers here, in well under a second, leaving nothing", async () => {
    const t0 = Date.now();
    const r = await probeHandler(
      { name: "runc", path: RUNC, root: path.join(dir, "runc") },
      runner,
      path.join(dir, "tmp"),
    );
    const took = Date.now() - t0;
    console.log(`      runc probe took ${took} ms (load ${os.loadavg()[0]!.toFixed(1)})`);
    expect(r).to.include({ ok: true, reason: "" });
    expect(r.version).to.match(/^runc version /);
    expect(took).to.be.lessThan(timeBudgetMs());
    expect(await readdir(path.join(dir, "tmp"))).to.deep.equal([]);
    expect(await readdir(path.join(dir, "runc"))).to.deep.equal([]);
    expect(await probeCgroupsLeft()).to.deep.equal([]);
  });

  it("crun: unusable while cgroup2 holds a controller (with crun's reason), usable otherwise", async function () {
    if (!existsSync(CRUN)) {
      console.log("      skipped: crun is not installed");
      this.skip();
    }
    // On this hybrid host cgroup2 holds hugetlb, unless the conformance kit (HANDLER=crun) or
    // the crun handler test moved it to a v1 hierarchy for a while.
    const hybrid = unifiedControllers().length > 0;
    const t0 = Date.now();
    const r = await probeHandler(
      { name: "crun", path: CRUN, root: path.join(dir, "crun") },
      runner,
      path.join(dir, "tmp"),
    );
    expect(Date.now() - t0).to.be.lessThan(timeBudgetMs());
    expect(r.version).to.match(/^crun version /);
    if (hybrid) {
      expect(r.ok).to.equal(false);
      expect(r.reason).to.match(/cgroups in hybrid mode not supported/);
    } else {
      expect(r).to.include({ ok: true, reason: "" });
    }
    expect(await readdir(path.join(dir, "tmp"))).to.deep.equal([]);
    expect(await probeCgroupsLeft()).to.deep.equal([]);
  });

  it("sweeps the container and cgroup a probe killed midway left (berthd killed at startup)", async () => {
    const root = path.join(dir, "runc");
    const id = "berth-probe-0123456789ab";
    const bundle = path.join(dir, "left", id);
    await writeProbeBundle(bundle, `/${id}/${id}`, "/usr/bin/busybox");
    // What a probe leaves when its berthd dies between `create` and `delete`.
    const made = await runner.run("/bin/sh", [
      "-c",
      'exec "$@" </dev/null >/dev/null 2>/dev/null',
      "sh",
      RUNC,
      "--root",
      root,
      "create",
      "--bundle",
      bundle,
      id,
    ]);
    expect(made.code).to.equal(0);
    try {
      expect(await readdir(root)).to.deep.equal([id]);
      expect(await probeCgroupsLeft()).to.not.deep.equal([]);
      const r = await probeHandler(
        { name: "runc", path: RUNC, root },
        runner,
        path.join(dir, "tmp"),
      );
      expect(r).to.include({ ok: true, reason: "" });
      expect(await readdir(root)).to.deep.equal([]);
      expect(await probeCgroupsLeft()).to.deep.equal([]);
    } finally {
      await runner.run(RUNC, ["--root", root, "delete", "--force", id]).catch(() => undefined);
    }
  });

  it("a missing binary is reported, not thrown", async () => {
    const r = await probeHandler(
      { name: "x", path: path.join(dir, "no-such-runtime"), root: dir },
      runner,
      dir,
    );
    expect(r.ok).to.equal(false);
    expect(r.reason).to.match(/no-such-runtime/);
  });
});
