import { expect } from "chai";
import { readCgroupStats, createCgroupStatsReader } from "../../../src/cgroup/index.js";
import { fixtureSetup } from "./fixture-paths.js";

describe("cgroup: readCgroupStats on cgroup v1 (separate cpu and cpuacct mounts)", () => {
  const setup = fixtureSetup("v1");

  it("reads every section of a limited cgroup", async () => {
    const stats = await readCgroupStats(setup, "/kubepods/pod123/abc");
    expect(stats).to.deep.equal({
      cpu: {
        // From cpuacct.usage_all alone; one per-CPU user value is above 2^53.
        usageNs: 9007199886740993n,
        userNs: 9007199422740993n,
        systemNs: 464000000n,
        perCpuNs: [9007199418740993n, 468000000n],
        periods: 13n,
        throttledPeriods: 11n,
        throttledNs: 341287136n,
      },
      memory: {
        usage: 104857600n,
        workingSet: 104857600n - 20971520n, // usage − total_inactive_file
        rss: 62914560n, // total_*, not the cgroup-local keys
        cache: 41943040n,
        mappedFile: 4194304n,
        pgfault: 12345n,
        pgmajfault: 7n,
        swap: 1048576n,
        kernel: 8192n,
        maxUsage: 125829120n,
        failcnt: 3n,
        limit: 268435456n,
        // memsw limit is the unlimited value → absent
        oomEvents: 2n,
        oomKillDisable: false,
      },
      spec: { cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, memoryLimit: 268435456n },
      pids: { current: 4, limit: 100 },
      io: [
        { major: 254, minor: 0, readBytes: 40960n, writeBytes: 5242880n, reads: 5n, writes: 10n },
        {
          major: 8,
          minor: 16,
          readBytes: 9007199254740993n,
          writeBytes: 0n,
          reads: 3n,
          writes: 0n,
        },
      ],
    });
  });

  it("maps unlimited values to undefined and falls back for older kernels", async () => {
    const stats = await readCgroupStats(setup, "/kubepods/pod123/unlimited");
    expect(stats).to.deep.equal({
      cpu: {
        // No cpuacct.usage_all: cpuacct.usage + usage_percpu, user/system from USER_HZ ticks.
        usageNs: 674887564n,
        userNs: 220000000n,
        systemNs: 450000000n,
        perCpuNs: [226750993n, 448136571n],
        periods: 0n,
        throttledPeriods: 0n,
        throttledNs: 0n,
      },
      memory: {
        usage: 12288n,
        workingSet: 0n, // inactive_file (16384) > usage: floored at 0
        rss: 4096n,
        cache: 8192n,
        mappedFile: 0n,
        pgfault: 817n,
        pgmajfault: 1n,
        maxUsage: 1662976n,
        failcnt: 0n,
        oomKillDisable: true,
        // no limit (unlimited), no swap accounting, no kmem file, no oom_kill counter
      },
      spec: { cpuShares: 2, cpuQuota: -1, cpuPeriod: 100000 },
      pids: { current: 1 },
      // blkio.throttle.* missing: CFQ's blkio.io_service_bytes_recursive
      io: [{ major: 8, minor: 0, readBytes: 1024n, writeBytes: 2048n, reads: 1n, writes: 2n }],
    });
  });

  it("leaves out sections whose controllers do not hold the cgroup", async () => {
    expect(await readCgroupStats(setup, "/kubepods/pod123/memonly")).to.deep.equal({
      memory: {
        usage: 4096n,
        workingSet: 4096n,
        rss: 0n,
        cache: 0n,
        mappedFile: 0n,
        pgfault: 0n,
        pgmajfault: 0n,
        limit: 1048576n,
      },
      spec: { memoryLimit: 1048576n },
    });
  });

  it("falls back to BFQ counters when the throttle counters list no device", async () => {
    expect(await readCgroupStats(setup, "/kubepods/pod123/bfq")).to.deep.equal({
      io: [{ major: 8, minor: 0, readBytes: 4096n, writeBytes: 8192n, reads: 1n, writes: 2n }],
    });
  });

  it("returns undefined for a cgroup that does not exist (anymore)", async () => {
    expect(await readCgroupStats(setup, "/kubepods/pod123/gone")).to.equal(undefined);
  });

  it("reads only the sections asked for", async () => {
    const stats = await readCgroupStats(setup, "/kubepods/pod123/abc", {
      sections: ["pids", "spec"],
    });
    expect(stats).to.deep.equal({
      pids: { current: 4, limit: 100 },
      spec: { cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, memoryLimit: 268435456n },
    });
  });

  it("gives the same reading through a bound reader", async () => {
    const reader = createCgroupStatsReader(setup);
    expect(reader.setup).to.equal(setup);
    expect(await reader.read("/kubepods/pod123/abc")).to.deep.equal(
      await readCgroupStats(setup, "/kubepods/pod123/abc"),
    );
  });
});
