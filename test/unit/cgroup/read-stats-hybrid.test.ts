import { expect } from "chai";
import { readCgroupStats } from "../../../src/cgroup/index.js";
import { fixtureSetup } from "./fixture-paths.js";

describe("cgroup: readCgroupStats on a hybrid host (cpu,cpuacct co-mounted + cgroup2)", () => {
  const setup = fixtureSetup("hybrid");

  it("reads v1 controllers and PSI from the unified mount", async () => {
    expect(await readCgroupStats(setup, "/kubepods/pod456/def")).to.deep.equal({
      cpu: {
        usageNs: 21000n,
        userNs: 9000n,
        systemNs: 12000n,
        perCpuNs: [3000n, 7000n, 0n, 11000n],
        periods: 200n,
        throttledPeriods: 20n,
        throttledNs: 1500000000n,
      },
      memory: {
        usage: 5242880n,
        workingSet: 4194304n,
        rss: 3145728n,
        cache: 2097152n,
        mappedFile: 1048576n,
        pgfault: 500n,
        pgmajfault: 2n,
        swap: 0n,
        kernel: 0n,
        maxUsage: 6291456n,
        failcnt: 0n,
        // limit 9223372036854710272 is "unlimited" with 64 KiB pages → absent
        swapLimit: 1073741824n,
        oomEvents: 0n,
        oomKillDisable: false,
      },
      spec: { cpuShares: 1024, cpuQuota: 200000, cpuPeriod: 100000 },
      pids: { current: 7, limit: 1024 },
      io: [], // throttle files exist but list no device; no other family exists
      psi: {
        cpu: { some: { totalUs: 123456n }, full: { totalUs: 789n } },
        memory: { some: { totalUs: 0n }, full: { totalUs: 0n } },
        io: { some: { totalUs: 9007199254740993n }, full: { totalUs: 4000n } },
      },
    });
  });

  it("has no PSI section when the cgroup is not in the unified tree", async () => {
    const stats = await readCgroupStats(setup, "/kubepods/pod456/def", { sections: ["psi"] });
    expect(stats?.psi).to.not.equal(undefined);
    const other = await readCgroupStats(setup, "/kubepods/pod456/nowhere", { sections: ["psi"] });
    expect(other).to.equal(undefined);
  });
});
