import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { cgroupDirChain, parseCgroupMounts, removeCgroupPath } from "../../../src/cgroup/remove.js";

const MOUNTINFO = [
  "25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
  "31 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "32 31 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
  "33 31 0:28 / /sys/fs/cgroup/memory rw,relatime shared:9 master:2 - cgroup cgroup rw,memory",
  "34 31 0:29 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
  "35 31 0:30 /inner /mnt/with\\040space rw - cgroup cgroup rw,pids",
  "",
].join("\n");

describe("cgroup: removal", () => {
  it("finds the cgroup v1 and v2 mounts in mountinfo", () => {
    expect(parseCgroupMounts(MOUNTINFO)).to.deep.equal([
      { mountPoint: "/sys/fs/cgroup/cpu", root: "/", fsType: "cgroup" },
      { mountPoint: "/sys/fs/cgroup/memory", root: "/", fsType: "cgroup" },
      { mountPoint: "/sys/fs/cgroup/unified", root: "/", fsType: "cgroup2" },
      { mountPoint: "/mnt/with space", root: "/inner", fsType: "cgroup" },
    ]);
  });

  it("lists the dirs of a path leaf first, and refuses relative or dotted paths", () => {
    expect(cgroupDirChain("/a/b/c")).to.deep.equal(["/a/b/c", "/a/b", "/a"]);
    expect(cgroupDirChain("/a//b/")).to.deep.equal(["/a/b", "/a"]);
    expect(() => cgroupDirChain("a/b")).to.throw(/absolute/);
    expect(() => cgroupDirChain("/a/../b")).to.throw(/absolute/);
  });

  it("removes empty dirs in every hierarchy and reports (not throws) busy ones", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "berth-cg-unit-"));
    try {
      const h1 = path.join(dir, "cpu");
      const h2 = path.join(dir, "memory");
      await mkdir(path.join(h1, "berth-t/c1"), { recursive: true });
      await mkdir(path.join(h2, "berth-t/c1"), { recursive: true });
      await mkdir(path.join(h2, "berth-t/other"), { recursive: true }); // someone else's child
      await writeFile(path.join(h1, "keep"), "");
      const mi = path.join(dir, "mountinfo");
      await writeFile(
        mi,
        `1 0 0:1 / ${h1} rw - cgroup cgroup rw,cpu\n2 0 0:2 / ${h2} rw - cgroup cgroup rw,memory\n`,
      );
      const failures = await removeCgroupPath("/berth-t/c1", mi);
      expect(existsSync(path.join(h1, "berth-t"))).to.equal(false);
      expect(existsSync(path.join(h1, "keep"))).to.equal(true);
      expect(existsSync(path.join(h2, "berth-t/c1"))).to.equal(false);
      expect(existsSync(path.join(h2, "berth-t/other"))).to.equal(true);
      expect(failures).to.have.length(1);
      expect(failures[0]).to.contain(path.join(h2, "berth-t"));
      // Idempotent: nothing left to remove is no failure.
      await rm(path.join(h2, "berth-t"), { recursive: true });
      expect(await removeCgroupPath("/berth-t/c1", mi)).to.deep.equal([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
