import { expect } from "chai";
import * as path from "node:path";
import { containerCgroupDirs } from "../../../src/cgroup/container-cgroup.js";
import { FIXTURES, fixtureSetup } from "./fixture-paths.js";

describe("cgroup: a container's cgroup dirs", () => {
  it("maps a cgroupfs cgroupsPath onto each v1 hierarchy", () => {
    const dirs = containerCgroupDirs(fixtureSetup("v1"), "cgroupfs", "/kubepods/pod123/abc");
    const root = path.join(FIXTURES, "v1");
    expect(dirs?.v2).to.equal(false);
    expect(dirs?.dir("cpu")).to.equal(`${root}/cpu/kubepods/pod123/abc`);
    expect(dirs?.dir("memory")).to.equal(`${root}/memory/kubepods/pod123/abc`);
    expect(dirs?.procsDir).to.equal(`${root}/pids/kubepods/pod123/abc`);
  });

  it("maps a systemd cgroupsPath onto the unified tree for every controller", () => {
    const dirs = containerCgroupDirs(
      fixtureSetup("v2"),
      "systemd",
      "kubepods-besteffort-pod123.slice:cri-berth:abc",
    );
    const want = path.join(
      FIXTURES,
      "v2",
      "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice/cri-berth-abc.scope",
    );
    expect(dirs?.v2).to.equal(true);
    expect(dirs?.dir("cpu")).to.equal(want);
    expect(dirs?.dir("cpuset")).to.equal(want);
    expect(dirs?.procsDir).to.equal(want);
  });

  it("gives no dirs for a path the driver does not make", () => {
    expect(containerCgroupDirs(fixtureSetup("v1"), "systemd", "/kubepods/abc")).to.equal(undefined);
    expect(containerCgroupDirs(fixtureSetup("v1"), "cgroupfs", "/kubepods/a b")).to.equal(
      undefined,
    );
  });
});
