// Needs root: the warm-up's no-op move, for real, on this host's cgroups (migration-warmup.ts).
import { expect } from "chai";
import { existsSync, promises as fs } from "node:fs";
import { loadCgroupSetup } from "../../../src/cgroup/index.js";
import {
  CgroupMigrationWarmup,
  SELF_CGROUP,
  ownCgroupProcsFile,
} from "../../../src/cgroup/migration-warmup.js";

describe("cgroup/migration-warmup on this host", () => {
  it("finds this process's cgroup.procs, and writing its pid there moves nothing", async () => {
    const before = await fs.readFile(SELF_CGROUP, "utf8");
    const file = ownCgroupProcsFile(await loadCgroupSetup(), before);
    expect(file, "a cgroup.procs file").to.be.a("string");
    expect(existsSync(file!), file).to.equal(true);
    expect((await fs.readFile(file!, "utf8")).split("\n")).to.include(String(process.pid));

    const outcomes: string[] = [];
    const warmup = new CgroupMigrationWarmup(file, process.pid, (f, text) =>
      fs.writeFile(f, text).then(
        () => void outcomes.push("written"),
        (err: NodeJS.ErrnoException) => {
          outcomes.push(`refused: ${err.code ?? String(err)}`);
          throw err;
        },
      ),
    );
    warmup.kick();
    for (let i = 0; i < 100 && outcomes.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(outcomes).to.deep.equal(["written"]);
    expect(await fs.readFile(SELF_CGROUP, "utf8")).to.equal(before);
  });
});
