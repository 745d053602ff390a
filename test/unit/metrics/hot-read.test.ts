import { expect } from "chai";
import * as path from "node:path";
import { readHotStats } from "../../../src/metrics/hot-cgroup-read.js";
import { readCgroupStats, systemdCgroupsPathToCgroupPath } from "../../../src/cgroup/index.js";
import { fixtureSetup } from "../cgroup/fixture-paths.js";

const CASES = [
  { mode: "v1" as const, cgroup: "/kubepods/pod123/abc" },
  { mode: "hybrid" as const, cgroup: "/kubepods/pod456/def" },
  {
    mode: "v2" as const,
    cgroup: systemdCgroupsPathToCgroupPath("kubepods-besteffort-pod123.slice:cri-berth:abc"),
  },
];

describe("metrics: the hot part of a cgroup reading", () => {
  for (const { mode, cgroup } of CASES) {
    it(`${mode}: CPU and fast memory figures equal the full reader's`, async () => {
      const setup = fixtureSetup(mode);
      const hot = (await readHotStats(setup, cgroup))!;
      const full = (await readCgroupStats(setup, cgroup))!;
      expect(hot.cpu).to.deep.equal(full.cpu);
      const m = full.memory!;
      const same = {
        usage: m.usage,
        workingSet: m.workingSet,
        rss: m.rss,
        cache: m.cache,
        mappedFile: m.mappedFile,
        pgfault: m.pgfault,
        pgmajfault: m.pgmajfault,
      };
      expect(hot.memory).to.deep.include(same);
      expect(hot.memory!.oomEvents).to.equal(m.oomEvents);
      expect(hot.memory!.swap).to.equal(m.swap);
      // Limits and peaks are the slow tier's.
      expect(hot.memory!.limit).to.equal(undefined);
    });
  }

  it("is undefined for a cgroup that is gone", async () => {
    expect(await readHotStats(fixtureSetup("v1"), path.posix.join("/no", "such"))).to.equal(
      undefined,
    );
  });
});
