import { expect } from "chai";
import { cgroupDriverLine, cgroupLayoutLine } from "../../../src/cli/check/cgroups.js";
import { namespacesLine, overlayLine, seccompLine } from "../../../src/cli/check/kernel.js";
import {
  LOW_SPACE_BYTES,
  spaceVerdict,
  TOO_LOW_SPACE_BYTES,
} from "../../../src/cli/check/paths.js";
import { exitCode, fail, formatLine, ok, summary, warn } from "../../../src/cli/check/report.js";
import { kubeletLines, privilegeLine } from "../../../src/cli/check/run-check.js";
import { runtimeLines } from "../../../src/cli/check/runtimes.js";
import { cniPluginVersion } from "../../../src/cli/tool-version.js";
import { finish } from "../../../src/config/load.js";
import { defaultConfig } from "../../../src/config/config.js";
import type { HandlerProbe } from "../../../src/runtime/handler-registry.js";

const V1_CONTROLLERS = {
  cpu: "/sys/fs/cgroup/cpu",
  cpuacct: "/sys/fs/cgroup/cpuacct",
  memory: "/sys/fs/cgroup/memory",
  pids: "/sys/fs/cgroup/pids",
  cpuset: "/sys/fs/cgroup/cpuset",
  blkio: "/sys/fs/cgroup/blkio",
};

function probe(name: string, okay: boolean, reason = ""): HandlerProbe {
  return {
    name,
    path: `/usr/bin/${name}`,
    root: "",
    ok: okay,
    reason,
    version: `${name} version 1.0`,
    features: { recursiveReadOnlyMounts: false, userNamespaces: false },
  };
}

describe("berthd check lines", () => {
  it("hybrid with a controller on the cgroup2 mount: WARN naming it and what it means for crun", () => {
    const l = cgroupLayoutLine(
      { mode: "hybrid", controllers: V1_CONTROLLERS, unifiedMount: "/sys/fs/cgroup/unified" },
      ["hugetlb"],
    );
    expect(l.level).to.equal("WARN");
    expect(l.detail).to.match(/^hybrid \(v1 controllers blkio,cpu,cpuacct,cpuset,memory,pids;/);
    expect(l.detail).to.match(/holds hugetlb\): crun 1\.8 refuses/);
    expect(l.fix).to.match(/unified_cgroup_hierarchy=1/);
  });

  it("hybrid with an empty cgroup2 mount, v1 and v2 are OK", () => {
    const unified = "/sys/fs/cgroup/unified";
    expect(
      cgroupLayoutLine({ mode: "hybrid", controllers: V1_CONTROLLERS, unifiedMount: unified }, [])
        .level,
    ).to.equal("OK");
    expect(cgroupLayoutLine({ mode: "v1", controllers: V1_CONTROLLERS }, []).detail).to.match(
      /^v1 /,
    );
    const v2 = cgroupLayoutLine({ mode: "v2", controllers: {}, unifiedMount: "/sys/fs/cgroup" }, [
      "cpu",
      "memory",
      "pids",
      "io",
    ]);
    expect([v2.level, v2.detail]).to.deep.equal([
      "OK",
      "v2 (unified at /sys/fs/cgroup; controllers cpu,memory,pids,io); crun and runc both work",
    ]);
  });

  it("v2 without the memory controller enabled WARNs", () => {
    const l = cgroupLayoutLine({ mode: "v2", controllers: {}, unifiedMount: "/sys/fs/cgroup" }, [
      "cpu",
      "pids",
    ]);
    expect([l.level, l.detail]).to.deep.equal([
      "WARN",
      "v2 (unified at /sys/fs/cgroup; controllers cpu,pids), missing memory",
    ]);
  });

  it("the systemd cgroup driver without systemd FAILs", () => {
    expect(cgroupDriverLine("systemd", false).level).to.equal("FAIL");
    expect(cgroupDriverLine("cgroupfs", true).level).to.equal("WARN");
    expect(cgroupDriverLine("cgroupfs", false).level).to.equal("OK");
  });

  it("runtime handlers: an unusable one WARNs with its reason; none usable FAILs", () => {
    const lines = runtimeLines(
      [probe("crun", false, "cannot create a container: no"), probe("runc", true)],
      "",
    );
    expect(lines.map((l) => [l.level, l.item])).to.deep.equal([
      ["WARN", "runtime crun"],
      ["OK", "runtime runc"],
    ]);
    expect(lines[0]!.detail).to.equal(
      "/usr/bin/crun (crun version 1.0) cannot run containers here: cannot create a container: no",
    );
    expect(lines[1]!.detail).to.match(/rro mounts: no, user namespaces: no, the default handler$/);
    const none = runtimeLines([probe("runc", false, "gone")], "");
    expect(none.at(-1)!.level).to.equal("FAIL");
    const wrongDefault = runtimeLines([probe("crun", false, "x"), probe("runc", true)], "crun");
    expect(wrongDefault.at(-1)!.item).to.equal("default runtime");
  });

  it("kernel lines read /proc texts", () => {
    expect(overlayLine("nodev\tproc\nnodev\toverlay\n", undefined).level).to.equal("OK");
    expect(overlayLine("nodev\tproc\n", "/lib/modules/x/overlay.ko").level).to.equal("OK");
    expect(overlayLine("nodev\tproc\n", undefined).level).to.equal("FAIL");
    expect(namespacesLine(["mnt", "pid", "net", "ipc"]).detail).to.equal("missing uts");
    expect(namespacesLine(["mnt", "pid", "net", "ipc", "uts", "user"]).level).to.equal("OK");
    expect(seccompLine("Name:\tx\n", undefined).level).to.equal("WARN");
    expect(seccompLine("Seccomp:\t0\n", "kill_process errno\n").detail).to.equal(
      "filters with actions kill_process errno",
    );
  });

  it("free space: FAIL when a pull cannot fit, WARN when low", () => {
    expect(spaceVerdict("root dir", "/r", TOO_LOW_SPACE_BYTES - 1).level).to.equal("FAIL");
    expect(spaceVerdict("root dir", "/r", LOW_SPACE_BYTES - 1).level).to.equal("WARN");
    expect(spaceVerdict("root dir", "/r", LOW_SPACE_BYTES * 2).level).to.equal("OK");
  });

  it("formats one line per requirement and exits non-zero only on FAIL", () => {
    expect(formatLine(ok("conmon", "/usr/bin/conmon"))).to.equal("OK   conmon: /usr/bin/conmon");
    expect(formatLine(fail("conmon", "missing", "apt install conmon"))).to.equal(
      "FAIL conmon: missing; to do: apt install conmon",
    );
    const lines = [ok("a", "x"), warn("b", "y", "z")];
    expect(exitCode(lines)).to.equal(0);
    expect(exitCode([...lines, fail("c", "d", "e")])).to.equal(1);
    expect(summary(lines)).to.equal("1 OK, 1 WARN, 0 FAIL");
    expect(privilegeLine(1000).level).to.equal("FAIL");
  });

  it("prints the kubelet lines for the configured socket and driver", () => {
    const cfg = finish({ ...defaultConfig(), listen: "/run/x/b.sock", cgroup_driver: "systemd" });
    expect(kubeletLines(cfg).slice(1)).to.deep.equal([
      "  containerRuntimeEndpoint: unix:///run/x/b.sock",
      "  imageServiceEndpoint: unix:///run/x/b.sock",
      "  cgroupDriver: systemd",
    ]);
  });

  it("reads a CNI plugin's version when it has one", () => {
    expect(cniPluginVersion("CNI bridge plugin v1.4.0")).to.equal("v1.4.0");
    expect(cniPluginVersion("CNI bridge plugin version unknown")).to.equal(undefined);
  });
});
