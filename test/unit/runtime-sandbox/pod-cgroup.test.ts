// Which cgroup a pod gets, and which ones berth makes and removes itself (pod-cgroup.ts).
import { expect } from "chai";
import {
  berthOwnsPodCgroup,
  defaultPodCgroupParent,
  podCgroupParent,
} from "../../../src/runtime/sandbox/pod-cgroup.js";
import { sandboxConfig } from "../runtime-spec/fixtures.js";

describe("pod cgroup", () => {
  const id = "ab".repeat(32);
  const withParent = (cgroup_parent: string) =>
    sandboxConfig({ linux: { ...sandboxConfig().linux!, cgroup_parent } });

  it("is kubelet's parent when given, else berth's /berth/<id>", () => {
    expect(podCgroupParent(withParent("/kubepods/burstable/pod1"), id)).to.equal(
      "/kubepods/burstable/pod1",
    );
    expect(podCgroupParent(withParent(""), id)).to.equal(`/berth/${id}`);
    expect(defaultPodCgroupParent(id)).to.equal(`/berth/${id}`);
  });

  it("is berth's to make and remove only as its default parent under cgroupfs", () => {
    expect(berthOwnsPodCgroup("cgroupfs", `/berth/${id}`, id)).to.equal(true);
    expect(berthOwnsPodCgroup("cgroupfs", "/kubepods/burstable/pod1", id)).to.equal(false);
    expect(berthOwnsPodCgroup("cgroupfs", `/berth/${"cd".repeat(32)}`, id)).to.equal(false);
    expect(berthOwnsPodCgroup("systemd", `/berth/${id}`, id)).to.equal(false);
  });
});
