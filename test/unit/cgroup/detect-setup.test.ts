import { expect } from "chai";
import * as path from "node:path";
import { FailedPreconditionError } from "../../../src/errors.js";
import {
  cgroupDir,
  cgroupProcsDir,
  detectCgroupSetup,
  unifiedCgroupDir,
} from "../../../src/cgroup/index.js";
import { FIXTURES, fixtureMountinfo, fixtureSetup } from "./fixture-paths.js";

describe("cgroup: detectCgroupSetup", () => {
  it("detects v1 with separate cpu and cpuacct hierarchies and ignores named ones", () => {
    const root = path.join(FIXTURES, "v1");
    expect(fixtureSetup("v1")).to.deep.equal({
      mode: "v1",
      controllers: {
        cpu: `${root}/cpu`,
        cpuacct: `${root}/cpuacct`,
        cpuset: `${root}/cpuset`,
        memory: `${root}/memory`,
        devices: `${root}/devices`,
        freezer: `${root}/freezer`,
        blkio: `${root}/blkio`,
        pids: `${root}/pids`,
      },
    });
  });

  it("detects hybrid with co-mounted controllers and the unified mount", () => {
    const root = path.join(FIXTURES, "hybrid");
    expect(fixtureSetup("hybrid")).to.deep.equal({
      mode: "hybrid",
      controllers: {
        cpu: `${root}/cpu,cpuacct`,
        cpuacct: `${root}/cpu,cpuacct`,
        memory: `${root}/memory`,
        pids: `${root}/pids`,
        blkio: `${root}/blkio`,
        net_cls: `${root}/net_cls,net_prio`,
        net_prio: `${root}/net_cls,net_prio`,
        hugetlb: `${root}/hugetlb`,
      },
      unifiedMount: `${root}/unified`,
    });
  });

  it("detects v2 and maps every v2 controller to the unified mount", () => {
    const root = path.join(FIXTURES, "v2");
    const setup = fixtureSetup("v2");
    expect(setup.mode).to.equal("v2");
    expect(setup.unifiedMount).to.equal(root);
    for (const c of ["cpu", "cpuset", "io", "memory", "hugetlb", "pids", "rdma", "misc"]) {
      expect(setup.controllers[c], c).to.equal(root);
    }
    expect(Object.keys(setup.controllers)).to.have.length(8);
  });

  it("keeps the host mount points when no root is given", () => {
    const setup = detectCgroupSetup({ mountinfo: fixtureMountinfo("hybrid") });
    expect(setup.controllers.memory).to.equal("/sys/fs/cgroup/memory");
    expect(setup.controllers.cpuacct).to.equal("/sys/fs/cgroup/cpu,cpuacct");
    expect(setup.unifiedMount).to.equal("/sys/fs/cgroup/unified");
  });

  it("keeps mounts outside /sys/fs/cgroup as they are, and the first mount of a controller wins", () => {
    const mountinfo = [
      "40 30 0:40 / /cgroup/mem\\040ory rw - cgroup cgroup rw,memory",
      "41 30 0:40 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
    ].join("\n");
    const setup = detectCgroupSetup({ mountinfo, root: "/fixture" });
    expect(setup).to.deep.equal({ mode: "v1", controllers: { memory: "/cgroup/mem ory" } });
  });

  it("throws FailedPreconditionError without any cgroup mount", () => {
    expect(() =>
      detectCgroupSetup({ mountinfo: "26 1 254:0 / / rw - ext4 /dev/vda rw\n" }),
    ).to.throw(FailedPreconditionError);
  });

  it("places cgroup paths inside each hierarchy and never above it", () => {
    const setup = fixtureSetup("v1");
    const root = path.join(FIXTURES, "v1");
    expect(cgroupDir(setup, "memory", "/kubepods/pod123/abc")).to.equal(
      `${root}/memory/kubepods/pod123/abc`,
    );
    expect(cgroupDir(setup, "memory", "../../etc")).to.equal(`${root}/memory/etc`);
    expect(cgroupDir(setup, "rdma", "/x")).to.equal(undefined);
    expect(unifiedCgroupDir(setup, "/x")).to.equal(undefined);
    expect(cgroupProcsDir(setup, "/a")).to.equal(`${root}/pids/a`);
    expect(cgroupProcsDir(fixtureSetup("v2"), "/a")).to.equal(path.join(FIXTURES, "v2", "a"));
  });
});
