import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readCgroupStats, systemdCgroupsPathToCgroupPath } from "../../../src/cgroup/index.js";
import { FIXTURES, fixtureMountinfo, fixtureSetup } from "./fixture-paths.js";
import { detectCgroupSetup } from "../../../src/cgroup/index.js";
import { readOptionalText } from "../../../src/cgroup/cgroup-files.js";

const ABC = systemdCgroupsPathToCgroupPath("kubepods-besteffort-pod123.slice:cri-berth:abc");

describe("cgroup: readCgroupStats on cgroup v2", () => {
  const setup = fixtureSetup("v2");

  it("reads every section of a limited cgroup (found through its systemd cgroupsPath)", async () => {
    expect(await readCgroupStats(setup, ABC)).to.deep.equal({
      cpu: {
        usageNs: 9007199254741000n, // µs × 1000, above 2^53
        userNs: 9007000000000000n,
        systemNs: 199254741000n,
        periods: 120n,
        throttledPeriods: 30n,
        throttledNs: 4500000000n,
      },
      memory: {
        usage: 104857600n,
        workingSet: 104857600n - 20971520n,
        rss: 62914560n, // anon
        cache: 41943040n, // file
        mappedFile: 4194304n,
        pgfault: 12345n,
        pgmajfault: 7n,
        swap: 1048576n,
        kernel: 3145728n,
        maxUsage: 125829120n, // memory.peak
        failcnt: 5n, // memory.events max
        limit: 268435456n,
        // memory.swap.max is "max" → absent
        oomEvents: 1n,
      },
      // cpu.weight 39 is what kubelet writes for 1024 shares; cAdvisor's inverse gives 998.
      spec: { cpuShares: 998, cpuQuota: 50000, cpuPeriod: 100000, memoryLimit: 268435456n },
      pids: { current: 4, limit: 100 },
      io: [
        {
          major: 8,
          minor: 16,
          readBytes: 1459200n,
          writeBytes: 314773504n,
          reads: 192n,
          writes: 353n,
        },
        {
          major: 254,
          minor: 0,
          readBytes: 9007199254740993n,
          writeBytes: 0n,
          reads: 1n,
          writes: 0n,
        },
      ],
      psi: {
        cpu: { some: { totalUs: 5000n }, full: { totalUs: 1000n } },
        memory: { some: { totalUs: 200n }, full: { totalUs: 100n } },
        io: { some: { totalUs: 40n }, full: { totalUs: 30n } },
      },
    });
  });

  it("maps max to unlimited and leaves out what an older kernel lacks", async () => {
    expect(await readCgroupStats(setup, "/kubepods.slice/unlimited")).to.deep.equal({
      cpu: {
        usageNs: 1000000n,
        userNs: 600000n,
        systemNs: 400000n,
        periods: 0n,
        throttledPeriods: 0n,
        throttledNs: 0n,
      },
      memory: {
        usage: 8192n,
        workingSet: 0n,
        rss: 4096n,
        cache: 4096n,
        mappedFile: 0n,
        pgfault: 3n,
        pgmajfault: 0n,
        failcnt: 0n,
        oomEvents: 0n,
        // no memory.peak, no swap files, no `kernel` key, memory.max "max"
      },
      spec: { cpuShares: 2597, cpuQuota: -1, cpuPeriod: 100000 },
      pids: { current: 1 },
      // no io.stat (io controller not enabled) → no io section
      psi: {
        cpu: { some: { totalUs: 77n } },
        memory: { some: { totalUs: 0n }, full: { totalUs: 0n } },
        io: { some: { totalUs: 0n }, full: { totalUs: 0n } },
      },
    });
  });

  it("returns undefined for a vanished cgroup", async () => {
    expect(await readCgroupStats(setup, "/kubepods.slice/gone.scope")).to.equal(undefined);
  });

  describe("with an unreadable file", () => {
    let tmp = "";
    before(async () => {
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cgroup-v2-"));
      await fs.cp(path.join(FIXTURES, "v2", "kubepods.slice", "unlimited"), path.join(tmp, "c"), {
        recursive: true,
      });
      // A directory where memory.current should be: reading it fails with EISDIR.
      await fs.rm(path.join(tmp, "c", "memory.current"));
      await fs.mkdir(path.join(tmp, "c", "memory.current"));
    });
    after(async () => {
      if (tmp !== "") await fs.rm(tmp, { recursive: true, force: true });
    });

    it("reports the error, drops that section and keeps the rest", async () => {
      const setup2 = detectCgroupSetup({ mountinfo: fixtureMountinfo("v2"), root: tmp });
      const errors: { file: string; code: unknown }[] = [];
      const stats = await readCgroupStats(setup2, "/c", {
        onReadError: (file, err) =>
          errors.push({ file, code: (err as NodeJS.ErrnoException).code }),
      });
      expect(errors).to.deep.equal([
        { file: path.join(tmp, "c", "memory.current"), code: "EISDIR" },
      ]);
      expect(stats?.memory).to.equal(undefined);
      expect(stats?.cpu?.usageNs).to.equal(1000000n);
      expect(stats?.pids).to.deep.equal({ current: 1 });
    });
  });
});

describe("cgroup: readOptionalText", () => {
  let tmp = "";
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cgroup-read-"));
  });
  after(async () => {
    if (tmp !== "") await fs.rm(tmp, { recursive: true, force: true });
  });

  it("reads files of any size whole, across read-chunk boundaries", async () => {
    for (const size of [0, 1, 4094, 4095, 4096, 8190, 20000]) {
      const text = Array.from({ length: size }, (_, i) => String.fromCharCode(97 + (i % 26))).join(
        "",
      );
      const file = path.join(tmp, `f${size}`);
      await fs.writeFile(file, text);
      expect(await readOptionalText(file), `size ${size}`).to.equal(text);
    }
  });

  it("is undefined for a missing file without reporting it", async () => {
    const errors: string[] = [];
    expect(await readOptionalText(path.join(tmp, "nope"), (f) => errors.push(f))).to.equal(
      undefined,
    );
    expect(
      await readOptionalText(path.join(tmp, "nope", "deeper"), (f) => errors.push(f)),
    ).to.equal(undefined);
    expect(errors).to.deep.equal([]);
  });
});
