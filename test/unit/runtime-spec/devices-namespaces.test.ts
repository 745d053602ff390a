import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import type { ResolvedDevice, SandboxInfo } from "../../../src/runtime/spec/context.js";
import { containerDevices, defaultDeviceRules } from "../../../src/runtime/spec/devices.js";
import {
  containerNamespaces,
  sandboxHasUts,
  sandboxNamespaces,
} from "../../../src/runtime/spec/namespaces.js";
import { namespaces } from "./fixtures.js";

const FIELD = "config.linux.security_context";

function device(over: Partial<ResolvedDevice> = {}): ResolvedDevice {
  return {
    index: 0,
    containerPath: "/dev/fuse",
    hostPath: "/dev/fuse",
    type: "c",
    major: 10,
    minor: 229,
    fileMode: 0o666,
    uid: 0,
    gid: 0,
    permissions: "rw",
    ...over,
  };
}

describe("runtime/spec devices", () => {
  it("denies all devices but the standard ones by default", () => {
    const { devices, rules } = containerDevices([], false, []);
    expect(devices).to.deep.equal([]);
    expect(rules[0]).to.deep.equal({ allow: false, access: "rwm" });
    expect(rules).to.deep.include({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" });
    expect(rules).to.deep.include({ allow: true, type: "c", major: 136, access: "rwm" });
    expect(rules).to.deep.equal(defaultDeviceRules());
  });

  it("adds requested devices with their cgroup rule", () => {
    const { devices, rules } = containerDevices(
      [device({ containerPath: "/dev/myfuse" })],
      false,
      [],
    );
    expect(devices).to.deep.equal([
      { path: "/dev/myfuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
    ]);
    expect(rules.at(-1)).to.deep.equal({
      allow: true,
      type: "c",
      major: 10,
      minor: 229,
      access: "rw",
    });
  });

  it("validates permissions and container paths", () => {
    for (const permissions of ["rwx", "rr", "read"]) {
      expect(() => containerDevices([device({ permissions, index: 2 })], false, []))
        .to.throw(InvalidArgumentError)
        .with.property("field", "config.devices[2].permissions");
    }
    expect(() => containerDevices([device({ containerPath: "dev/x" })], false, []))
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.devices[0].container_path");
  });

  it("gives privileged containers every host device and all access", () => {
    const host = [device({ containerPath: "/dev/sda", type: "b", major: 8, minor: 0 })];
    const { devices, rules } = containerDevices([device()], true, host);
    expect(devices.map((d) => d.path)).to.deep.equal(["/dev/sda", "/dev/fuse"]);
    expect(rules).to.deep.equal([{ allow: true, access: "rwm" }]);
  });
});

describe("runtime/spec namespaces", () => {
  const sandbox: SandboxInfo = {
    id: "sb",
    pid: 100,
    namespacePaths: { net: "/var/run/netns/cni-1" },
    hostname: "h",
    cgroupParent: "/p",
  };

  it("joins the sandbox's network, uts, ipc; new pid for CONTAINER", () => {
    expect(containerNamespaces(namespaces(), sandbox, undefined, false, FIELD)).to.deep.equal([
      { type: "mount" },
      { type: "network", path: "/var/run/netns/cni-1" },
      { type: "uts", path: "/proc/100/ns/uts" },
      { type: "ipc", path: "/proc/100/ns/ipc" },
      { type: "pid" },
    ]);
  });

  const pidCases: [string, ReturnType<typeof namespaces>, unknown][] = [
    [
      "POD joins the sandbox",
      namespaces({ pid: "POD" }),
      { type: "pid", path: "/proc/100/ns/pid" },
    ],
    [
      "TARGET joins the target",
      namespaces({ pid: "TARGET", target_id: "c9" }),
      { type: "pid", path: "/proc/777/ns/pid" },
    ],
    ["NODE uses the host's", namespaces({ pid: "NODE" }), undefined],
  ];
  for (const [name, ns, want] of pidCases) {
    it(`pid ${name}`, () => {
      const out = containerNamespaces(ns, sandbox, 777, false, FIELD);
      expect(out.find((n) => n.type === "pid")).to.deep.equal(want);
    });
  }

  it("host network and IPC drop those namespaces and UTS", () => {
    const out = containerNamespaces(
      namespaces({ network: "NODE", ipc: "NODE" }),
      sandbox,
      undefined,
      true,
      FIELD,
    );
    expect(out).to.deep.equal([{ type: "mount" }, { type: "pid" }, { type: "cgroup" }]);
  });

  it("requires a target pid for TARGET and refuses user namespaces", () => {
    expect(() =>
      containerNamespaces(
        namespaces({ pid: "TARGET", target_id: "x" }),
        sandbox,
        undefined,
        false,
        FIELD,
      ),
    )
      .to.throw(InvalidArgumentError)
      .with.property("field", `${FIELD}.namespace_options.target_id`);
    const userns = namespaces({
      userns_options: {
        mode: "POD",
        uids: [{ host_id: 1000, container_id: 0, length: 1 }],
        gids: [],
      },
    });
    expect(() => containerNamespaces(userns, sandbox, undefined, false, FIELD))
      .to.throw(InvalidArgumentError)
      .with.property("field", `${FIELD}.namespace_options.userns_options`);
    const hostUsers = namespaces({ userns_options: { mode: "NODE", uids: [], gids: [] } });
    expect(() => containerNamespaces(hostUsers, sandbox, undefined, false, FIELD)).not.to.throw();
  });

  it("sandboxes create new namespaces, join given paths, or use the host's", () => {
    expect(
      sandboxNamespaces(namespaces({ pid: "POD" }), { net: "/run/netns/x" }, false, FIELD),
    ).to.deep.equal([
      { type: "mount" },
      { type: "network", path: "/run/netns/x" },
      { type: "uts" },
      { type: "ipc" },
      { type: "pid" },
    ]);
    expect(
      sandboxNamespaces(
        namespaces({ network: "NODE", ipc: "NODE", pid: "NODE" }),
        {},
        false,
        FIELD,
      ),
    ).to.deep.equal([{ type: "mount" }]);
    expect(sandboxHasUts(namespaces())).to.equal(true);
    expect(sandboxHasUts(namespaces({ network: "NODE" }))).to.equal(false);
    expect(sandboxHasUts(null)).to.equal(true);
  });
});
