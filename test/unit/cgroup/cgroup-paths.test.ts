import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  cgroupfsContainerPath,
  expandSystemdSlice,
  ociCgroupsPathToCgroupPath,
  podCgroupsPath,
  systemdCgroupsPath,
  systemdCgroupsPathToCgroupPath,
  systemdUnitName,
} from "../../../src/cgroup/index.js";

describe("cgroup: cgroup path composition", () => {
  it("gives a pod's processes their OCI cgroupsPath in each driver's form", () => {
    expect(podCgroupsPath("cgroupfs", "/kubepods/pod1/", "abc")).to.equal("/kubepods/pod1/abc");
    expect(podCgroupsPath("cgroupfs", "/berth/p1", "abc")).to.equal("/berth/p1/abc");
    expect(podCgroupsPath("systemd", "/kubepods.slice/kubepods-pod1.slice", "abc")).to.equal(
      "kubepods-pod1.slice:cri-berth:abc",
    );
    expect(podCgroupsPath("systemd", "/berth/p1", "abc")).to.equal("berth.slice:cri-berth:abc");
  });

  it("joins a cgroupfs parent and a container id", () => {
    expect(cgroupfsContainerPath("/kubepods/besteffort/pod123", "abc")).to.equal(
      "/kubepods/besteffort/pod123/abc",
    );
    expect(cgroupfsContainerPath("kubepods/pod1/", "abc")).to.equal("/kubepods/pod1/abc");
    expect(cgroupfsContainerPath("", "abc")).to.equal("/abc");
    expect(cgroupfsContainerPath("//kubepods/./pod1", "abc")).to.equal("/kubepods/pod1/abc");
  });

  it("refuses cgroupfs parts that would climb or nest", () => {
    expect(() => cgroupfsContainerPath("/kubepods/../etc", "x")).to.throw(
      InvalidArgumentError,
      /cgroup_parent/,
    );
    expect(() => cgroupfsContainerPath("/kubepods", "..")).to.throw(
      InvalidArgumentError,
      /container_id/,
    );
    expect(() => cgroupfsContainerPath("/kubepods", "a/b")).to.throw(InvalidArgumentError);
    expect(() => cgroupfsContainerPath("/kubepods", "")).to.throw(InvalidArgumentError);
  });

  it("expands systemd slice names by their dashes", () => {
    expect(expandSystemdSlice("kubepods-besteffort-pod123.slice")).to.equal(
      "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice",
    );
    expect(expandSystemdSlice("system.slice")).to.equal("/system.slice");
    expect(expandSystemdSlice("-.slice")).to.equal("/");
    expect(expandSystemdSlice("kubepods-pod_a_b.slice")).to.equal(
      "/kubepods.slice/kubepods-pod_a_b.slice",
    );
  });

  it("refuses invalid slice names", () => {
    for (const bad of [
      "a--b.slice",
      "-a.slice",
      "a-.slice",
      "a/b.slice",
      "kubepods",
      ".slice",
      "a b.slice",
    ]) {
      expect(() => expandSystemdSlice(bad), bad).to.throw(InvalidArgumentError);
    }
  });

  it("turns a systemd cgroupsPath into the cgroup path systemd creates", () => {
    expect(
      systemdCgroupsPathToCgroupPath("kubepods-besteffort-pod123.slice:cri-berth:abc"),
    ).to.equal(
      "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice/cri-berth-abc.scope",
    );
    expect(systemdCgroupsPathToCgroupPath(":cri-berth:abc")).to.equal(
      "/system.slice/cri-berth-abc.scope",
    );
    expect(systemdCgroupsPathToCgroupPath("kubepods.slice:ignored:sub.slice")).to.equal(
      "/kubepods.slice/sub.slice",
    );
    expect(() => systemdCgroupsPathToCgroupPath("kubepods.slice:abc")).to.throw(
      InvalidArgumentError,
    );
    expect(() => systemdCgroupsPathToCgroupPath("kubepods.slice::abc")).to.throw(
      InvalidArgumentError,
    );
    expect(() => systemdCgroupsPathToCgroupPath("kubepods.slice:p:a/b")).to.throw(
      InvalidArgumentError,
    );
  });

  it("builds and validates a systemd cgroupsPath", () => {
    expect(systemdCgroupsPath("kubepods-pod1.slice", "cri-berth", "abc")).to.equal(
      "kubepods-pod1.slice:cri-berth:abc",
    );
    expect(systemdCgroupsPath("", "cri-berth", "abc")).to.equal(":cri-berth:abc");
    expect(() => systemdCgroupsPath("kubepods/pod1", "cri-berth", "abc")).to.throw(
      InvalidArgumentError,
    );
    expect(systemdUnitName("cri-berth", "abc")).to.equal("cri-berth-abc.scope");
  });

  it("reads an OCI cgroupsPath for either driver", () => {
    expect(ociCgroupsPathToCgroupPath("/kubepods/pod1/abc", "cgroupfs")).to.equal(
      "/kubepods/pod1/abc",
    );
    expect(ociCgroupsPathToCgroupPath("kubepods/pod1/abc", "cgroupfs")).to.equal(
      "/kubepods/pod1/abc",
    );
    expect(() => ociCgroupsPathToCgroupPath("/kubepods/../x", "cgroupfs")).to.throw(
      InvalidArgumentError,
    );
    expect(ociCgroupsPathToCgroupPath("kubepods-pod1.slice:cri-berth:abc", "systemd")).to.equal(
      "/kubepods.slice/kubepods-pod1.slice/cri-berth-abc.scope",
    );
  });
});
