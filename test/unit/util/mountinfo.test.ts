import { expect } from "chai";
import { mountPoints, parseMountinfo } from "../../../src/util/mountinfo.js";

describe("util: parseMountinfo", () => {
  it("reads optional fields, the separator and octal escapes", () => {
    const text =
      "36 35 98:0 /mnt1 /mnt\\0402 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n" +
      "garbage line\n" +
      "31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
    expect(parseMountinfo(text)).to.deep.equal([
      {
        root: "/mnt1",
        mountPoint: "/mnt 2",
        fsType: "ext3",
        source: "/dev/root",
        superOptions: ["rw", "errors=continue"],
      },
      {
        root: "/",
        mountPoint: "/sys/fs/cgroup/cpu,cpuacct",
        fsType: "cgroup",
        source: "cgroup",
        superOptions: ["rw", "cpu", "cpuacct"],
      },
    ]);
  });

  it("reads mount points from mountinfo, decoding escapes", () => {
    const text = [
      "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw",
      "40 22 0:4 net:[4026532] /run/berth/netns/p\\0401 rw shared:5 - nsfs nsfs rw",
      "",
    ].join("\n");
    expect(mountPoints(text)).to.deep.equal(["/", "/run/berth/netns/p 1"]);
  });
});
