import { expect } from "chai";
import { InternalError, InvalidArgumentError } from "../../../src/errors.js";
import type { Mount__Output } from "../../../src/gen/runtime/v1/Mount.js";
import {
  cleanContainerPath,
  containerMounts,
  kernelMounts,
  mountDestinationsToResolve,
} from "../../../src/runtime/spec/mounts.js";
import type { OciMount } from "../../../src/runtime/spec/oci-types.js";
import { containerConfig, containerContext, mount } from "./fixtures.js";

function build(
  mounts: Mount__Output[],
  opts: { privileged?: boolean; readonly?: boolean; selinux?: boolean } = {},
) {
  const config = containerConfig({ mounts });
  const ctx = containerContext(config);
  const warnings: string[] = [];
  const out = containerMounts({
    config,
    sandbox: ctx.sandbox,
    destinations: ctx.mountDestinations,
    privileged: opts.privileged ?? false,
    readonlyRootfs: opts.readonly ?? false,
    hostHas: { apparmor: false, selinux: opts.selinux ?? false },
    warnings,
  });
  return { ...out, warnings };
}

function at(mounts: OciMount[], dest: string): OciMount | undefined {
  return mounts.find((m) => m.destination === dest);
}

describe("runtime/spec mounts", () => {
  it("has the kernel file systems with safe options", () => {
    const m = kernelMounts({ privileged: false });
    expect(m.map((x) => x.destination)).to.deep.equal([
      "/proc",
      "/dev",
      "/dev/pts",
      "/dev/shm",
      "/dev/mqueue",
      "/sys",
      "/sys/fs/cgroup",
    ]);
    expect(at(m, "/sys")?.options).to.include("ro");
    expect(at(m, "/sys/fs/cgroup")?.options).to.include("ro");
    expect(at(m, "/proc")?.options).to.include.members(["nosuid", "noexec", "nodev"]);
    expect(at(m, "/dev/shm")?.type).to.equal("tmpfs");
    const priv = kernelMounts({ privileged: true, shmSource: "/run/shm1" });
    expect(at(priv, "/sys")?.options).to.include("rw");
    expect(at(priv, "/sys/fs/cgroup")?.options).to.include("rw");
    expect(at(priv, "/dev/shm")).to.deep.include({ type: "bind", source: "/run/shm1" });
  });

  it("binds the sandbox's /dev/shm, hosts, resolv.conf and hostname", () => {
    const { mounts } = build([]);
    expect(at(mounts, "/dev/shm")).to.deep.include({
      type: "bind",
      source: "/var/lib/berth/sandboxes/sb1/shm",
    });
    expect(at(mounts, "/etc/hosts")).to.deep.equal({
      destination: "/etc/hosts",
      type: "bind",
      source: "/var/lib/berth/sandboxes/sb1/hosts",
      options: ["rbind", "rprivate", "rw"],
    });
    expect(at(mounts, "/etc/resolv.conf")?.source).to.equal(
      "/var/lib/berth/sandboxes/sb1/resolv.conf",
    );
    expect(at(mounts, "/etc/hostname")?.source).to.equal("/var/lib/berth/sandboxes/sb1/hostname");
    expect(at(build([], { readonly: true }).mounts, "/etc/hosts")?.options).to.include("ro");
  });

  const propagation: [Mount__Output["propagation"], string, string | undefined][] = [
    ["PROPAGATION_PRIVATE", "rprivate", undefined],
    ["PROPAGATION_HOST_TO_CONTAINER", "rslave", "rslave"],
    ["PROPAGATION_BIDIRECTIONAL", "rshared", "rshared"],
  ];
  for (const [p, option, rootfs] of propagation) {
    it(`maps ${p} to ${option}`, () => {
      const out = build([mount({ propagation: p })]);
      expect(at(out.mounts, "/data")).to.deep.equal({
        destination: "/data",
        type: "bind",
        source: "/srv/data",
        options: ["rbind", option, "rw"],
      });
      expect(out.rootfsPropagation).to.equal(rootfs);
    });
  }

  it("maps readonly to ro and recursive_read_only to rro", () => {
    expect(at(build([mount({ readonly: true })]).mounts, "/data")?.options).to.deep.equal([
      "rbind",
      "rprivate",
      "ro",
    ]);
    expect(
      at(build([mount({ readonly: true, recursive_read_only: true })]).mounts, "/data")?.options,
    ).to.deep.equal(["rbind", "rprivate", "ro", "rro"]);
  });

  const invalid: [string, Partial<Mount__Output>, string][] = [
    ["rro without readonly", { recursive_read_only: true }, "config.mounts[0].recursive_read_only"],
    [
      "rro with propagation",
      { recursive_read_only: true, readonly: true, propagation: "PROPAGATION_HOST_TO_CONTAINER" },
      "config.mounts[0].recursive_read_only",
    ],
    ["relative container path", { container_path: "data" }, "config.mounts[0].container_path"],
    ["empty host path", { host_path: "" }, "config.mounts[0].host_path"],
    ["relative host path", { host_path: "srv" }, "config.mounts[0].host_path"],
    [
      "id mappings",
      { uidMappings: [{ host_id: 1, container_id: 0, length: 1 }] },
      "config.mounts[0].uidMappings",
    ],
  ];
  for (const [name, over, field] of invalid) {
    it(`rejects ${name}`, () => {
      expect(() => build([mount(over)]))
        .to.throw(InvalidArgumentError)
        .with.property("field", field);
    });
  }

  it("lets CRI mounts replace kernel mounts and sandbox files, and /dev replace /dev/*", () => {
    const { mounts } = build([
      mount({ container_path: "/etc/hosts", host_path: "/kubelet/etc-hosts" }),
      mount({ container_path: "/dev", host_path: "/dev" }),
    ]);
    expect(mounts.filter((m) => m.destination === "/etc/hosts")).to.have.length(1);
    expect(at(mounts, "/etc/hosts")?.source).to.equal("/kubelet/etc-hosts");
    expect(mounts.filter((m) => m.destination.startsWith("/dev"))).to.deep.equal([
      { destination: "/dev", type: "bind", source: "/dev", options: ["rbind", "rprivate", "rw"] },
    ]);
    // CRI mounts come last, in request order.
    expect(mounts.slice(-2).map((m) => m.destination)).to.deep.equal(["/etc/hosts", "/dev"]);
  });

  it("mounts on the destination resolved inside the rootfs", () => {
    const config = containerConfig({ mounts: [mount({ container_path: "/link/x" })] });
    const destinations = new Map([
      ["/link/x", "/real/x"],
      ["/etc/hosts", "/etc/hosts"],
      ["/etc/resolv.conf", "/etc/resolv.conf"],
      ["/etc/hostname", "/etc/hostname"],
    ]);
    const ctx = containerContext(config, { mountDestinations: destinations });
    const out = containerMounts({
      config,
      sandbox: ctx.sandbox,
      destinations,
      privileged: false,
      readonlyRootfs: false,
      hostHas: ctx.hostHas,
      warnings: [],
    });
    expect(out.mounts.at(-1)?.destination).to.equal("/real/x");
    expect(() =>
      containerMounts({
        config,
        sandbox: ctx.sandbox,
        destinations: new Map(),
        privileged: false,
        readonlyRootfs: false,
        hostHas: ctx.hostHas,
        warnings: [],
      }),
    ).to.throw(InternalError, /not resolved/);
  });

  it("lists what to resolve, once each", () => {
    const config = containerConfig({ mounts: [mount(), mount({ container_path: "/etc/hosts" })] });
    const ctx = containerContext(config);
    expect(mountDestinationsToResolve(config, ctx.sandbox)).to.deep.equal([
      "/data",
      "/etc/hosts",
      "/etc/resolv.conf",
      "/etc/hostname",
    ]);
  });

  it("warns that selinux_relabel is not done only where SELinux exists", () => {
    expect(build([mount({ selinux_relabel: true })]).warnings).to.deep.equal([]);
    expect(build([mount({ selinux_relabel: true })], { selinux: true }).warnings).to.have.length(1);
  });
});

describe("runtime/spec cleanContainerPath", () => {
  for (const [input, want] of [
    ["/dev/", "/dev"],
    ["/a/./b/../c", "/a/c"],
    ["relative", "/relative"],
    ["/", "/"],
    ["/../..", "/"],
  ]) {
    it(`${input} → ${want}`, () => expect(cleanContainerPath(input as string)).to.equal(want));
  }

  it("treats /dev/ in a CRI mount like /dev", () => {
    const { mounts } = build([mount({ container_path: "/dev/", host_path: "/dev" })]);
    expect(mounts.filter((m) => m.destination.startsWith("/dev"))).to.have.length(1);
  });
});
