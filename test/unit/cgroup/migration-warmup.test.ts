import { expect } from "chai";
import { CgroupMigrationWarmup, ownCgroupProcsFile } from "../../../src/cgroup/migration-warmup.js";
import type { CgroupSetup } from "../../../src/cgroup/types.js";

const v1: CgroupSetup = {
  mode: "v1",
  controllers: {
    cpu: "/sys/fs/cgroup/cpu,cpuacct",
    cpuacct: "/sys/fs/cgroup/cpu,cpuacct",
    pids: "/sys/fs/cgroup/pids",
  },
};
const hybrid: CgroupSetup = { ...v1, mode: "hybrid", unifiedMount: "/sys/fs/cgroup/unified" };
const v2: CgroupSetup = {
  mode: "v2",
  controllers: { cpu: "/sys/fs/cgroup", pids: "/sys/fs/cgroup" },
  unifiedMount: "/sys/fs/cgroup",
};
const selfV1 =
  "12:name=systemd:/system.slice/berth.service\n4:pids:/system.slice/berth.service\n3:cpu,cpuacct:/a b\n";
const selfHybrid = `${selfV1}0::/system.slice/berth.service\n`;

describe("cgroup/migration-warmup", () => {
  it("picks berthd's own cgroup.procs: on the cgroup2 mount, else on a v1 controller's hierarchy", () => {
    expect(ownCgroupProcsFile(v2, "0::/system.slice/berth.service\n")).to.equal(
      "/sys/fs/cgroup/system.slice/berth.service/cgroup.procs",
    );
    expect(ownCgroupProcsFile(hybrid, selfHybrid)).to.equal(
      "/sys/fs/cgroup/unified/system.slice/berth.service/cgroup.procs",
    );
    // name=systemd is no controller berth knows a mount of; pids is the first that is.
    expect(ownCgroupProcsFile(v1, selfV1)).to.equal(
      "/sys/fs/cgroup/pids/system.slice/berth.service/cgroup.procs",
    );
    expect(ownCgroupProcsFile(v1, "3:cpu,cpuacct:/a b\n")).to.equal(
      "/sys/fs/cgroup/cpu,cpuacct/a b/cgroup.procs",
    );
  });

  it("finds none without a usable line", () => {
    expect(ownCgroupProcsFile(v2, "")).to.equal(undefined);
    expect(ownCgroupProcsFile(v2, "4:pids:/x\n")).to.equal(undefined);
    expect(ownCgroupProcsFile(v1, "1:name=systemd:/x\n")).to.equal(undefined);
  });

  it("writes its pid once at a time, swallows a refusal and writes again after it", async () => {
    const writes: [string, string][] = [];
    let finish: (err?: Error) => void = () => undefined;
    const warmup = new CgroupMigrationWarmup("/cg/cgroup.procs", 4242, (file, text) => {
      writes.push([file, text]);
      return new Promise<void>((resolve, reject) => {
        finish = (err) => (err ? reject(err) : resolve());
      });
    });
    warmup.kick();
    warmup.kick(); // the first is still under way
    expect(writes).to.deep.equal([["/cg/cgroup.procs", "4242"]]);
    finish(Object.assign(new Error("EBUSY"), { code: "EBUSY" }));
    await new Promise((r) => setImmediate(r));
    warmup.kick();
    expect(writes).to.have.length(2);
    finish();
    await new Promise((r) => setImmediate(r));
    warmup.kick();
    expect(writes).to.have.length(3);
  });

  it("does nothing without a file", () => {
    let called = false;
    new CgroupMigrationWarmup(undefined, 1, () => {
      called = true;
      return Promise.resolve();
    }).kick();
    expect(called).to.equal(false);
  });
});
