import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import type { ContainerConfig__Output } from "../../../src/gen/runtime/v1/ContainerConfig.js";
import type { LinuxContainerSecurityContext__Output } from "../../../src/gen/runtime/v1/LinuxContainerSecurityContext.js";
import { DEFAULT_CAPABILITIES } from "../../../src/runtime/spec/capabilities.js";
import { buildContainerSpec } from "../../../src/runtime/spec/container-spec.js";
import type { ContainerSpecContext } from "../../../src/runtime/spec/context.js";
import type { ImageConfig } from "../../../src/runtime/spec/image-config.js";
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
} from "../../../src/runtime/spec/proc-masks.js";
import { defaultSeccompProfile } from "../../../src/runtime/spec/seccomp-default.js";
import { containerConfig, containerContext, resources, sandboxConfig } from "./fixtures.js";

const IMAGE: ImageConfig = {
  User: "",
  Env: ["PATH=/usr/bin:/bin", "IMG=1"],
  Entrypoint: null,
  Cmd: ["sh"],
  WorkingDir: "/srv",
};

const KUBELET_MASKED = ["/proc/acpi", "/proc/kcore", "/sys/firmware"];
const KUBELET_READONLY = ["/proc/bus", "/proc/sys"];

function build(
  over: Partial<ContainerConfig__Output> = {},
  sc: Partial<LinuxContainerSecurityContext__Output> = {},
  ctxOver: Partial<ContainerSpecContext> = {},
  image: ImageConfig = IMAGE,
) {
  const config = containerConfig(over, sc);
  return buildContainerSpec({
    config,
    sandboxConfig: sandboxConfig(),
    image,
    ctx: containerContext(config, ctxOver),
  });
}

describe("runtime/spec buildContainerSpec", () => {
  it("builds a complete spec for a default container", () => {
    const { spec, warnings } = build();
    expect(warnings).to.deep.equal([]);
    expect(spec.ociVersion).to.equal("1.0.2");
    expect(spec.root).to.deep.equal({
      path: "/var/lib/berth/containers/c1/rootfs",
      readonly: false,
    });
    expect(spec.hostname).to.equal(undefined);
    expect(spec.process).to.deep.include({
      terminal: false,
      args: ["sh"],
      cwd: "/srv",
      noNewPrivileges: false,
      oomScoreAdj: 0,
    });
    expect(spec.process.env).to.deep.equal(["PATH=/usr/bin:/bin", "HOSTNAME=web", "IMG=1"]);
    expect(spec.process.user).to.deep.equal({ uid: 0, gid: 0, additionalGids: [0, 10] });
    expect(spec.process.capabilities?.bounding).to.have.members([...DEFAULT_CAPABILITIES]);
    expect(spec.process.apparmorProfile).to.equal(undefined);
    expect(spec.linux.cgroupsPath).to.equal("/kubepods/poduid-1/c1");
    expect(spec.linux.namespaces.map((n) => n.type)).to.deep.equal([
      "mount",
      "network",
      "uts",
      "ipc",
      "pid",
    ]);
    expect(spec.linux.seccomp).to.equal(undefined);
    // Nothing sent (as crictl does): kubelet's defaults all the same.
    expect(spec.linux.maskedPaths).to.deep.equal([...DEFAULT_MASKED_PATHS]);
    expect(spec.linux.readonlyPaths).to.deep.equal([...DEFAULT_READONLY_PATHS]);
    expect(spec.linux.resources?.devices?.[0]).to.deep.equal({ allow: false, access: "rwm" });
    expect(spec.mounts.map((m) => m.destination)).to.deep.equal([
      "/proc",
      "/dev",
      "/dev/pts",
      "/dev/shm",
      "/dev/mqueue",
      "/sys",
      "/sys/fs/cgroup",
      "/etc/hosts",
      "/etc/resolv.conf",
      "/etc/hostname",
    ]);
    // The spec is plain data that survives config.json.
    expect(JSON.parse(JSON.stringify(spec))).to.deep.equal(spec);
  });

  it("records containerd's annotations over the request's", () => {
    const { spec } = build({
      annotations: { "example.com/a": "1", "io.kubernetes.cri.sandbox-id": "spoofed" },
    });
    expect(spec.annotations).to.deep.equal({
      "example.com/a": "1",
      "io.kubernetes.cri.container-type": "container",
      "io.kubernetes.cri.sandbox-id": "sb1",
      "io.kubernetes.cri.container-name": "app",
      "io.kubernetes.cri.sandbox-name": "web",
      "io.kubernetes.cri.sandbox-namespace": "default",
      "io.kubernetes.cri.sandbox-uid": "uid-1",
      "io.kubernetes.cri.image-name": "docker.io/library/busybox:latest",
    });
  });

  it("sets tty, command, env and working dir from the request", () => {
    const { spec } = build({
      tty: true,
      command: ["/bin/echo"],
      args: ["hi"],
      working_dir: "/work",
      envs: [{ key: "IMG", value: Buffer.from("2") }],
    });
    expect(spec.process.terminal).to.equal(true);
    expect(spec.process.args).to.deep.equal(["/bin/echo", "hi"]);
    expect(spec.process.cwd).to.equal("/work");
    expect(spec.process.env).to.deep.equal([
      "PATH=/usr/bin:/bin",
      "HOSTNAME=web",
      "TERM=xterm",
      "IMG=2",
    ]);
  });

  it("applies the security context: user, caps, no_new_privs, readonly rootfs, masks", () => {
    const { spec } = build(
      {},
      {
        run_as_username: "alice",
        capabilities: {
          add_capabilities: ["NET_ADMIN"],
          drop_capabilities: ["ALL"],
          add_ambient_capabilities: [],
        },
        no_new_privs: true,
        readonly_rootfs: true,
        masked_paths: KUBELET_MASKED,
        readonly_paths: KUBELET_READONLY,
      },
    );
    expect(spec.process.user).to.deep.equal({
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 10, 29],
    });
    expect(spec.process.capabilities?.effective).to.deep.equal(["CAP_NET_ADMIN"]);
    expect(spec.process.noNewPrivileges).to.equal(true);
    expect(spec.root.readonly).to.equal(true);
    expect(spec.linux.maskedPaths).to.deep.equal(KUBELET_MASKED);
    expect(spec.linux.readonlyPaths).to.deep.equal(KUBELET_READONLY);
  });

  it("gives RuntimeDefault seccomp computed from the final capabilities", () => {
    const { spec } = build({}, { seccomp: { profile_type: "RuntimeDefault", localhost_ref: "" } });
    expect(spec.linux.seccomp).to.deep.equal(defaultSeccompProfile(DEFAULT_CAPABILITIES, "x64"));
    const admin = build(
      {},
      {
        seccomp: { profile_type: "RuntimeDefault", localhost_ref: "" },
        capabilities: {
          add_capabilities: ["SYS_ADMIN"],
          drop_capabilities: [],
          add_ambient_capabilities: [],
        },
      },
    );
    const allowed = admin.spec.linux.seccomp?.syscalls?.[0]?.names ?? [];
    expect(allowed).to.include("mount");
  });

  it("drops seccomp, masks and device limits for privileged containers", () => {
    const { spec, warnings } = build(
      {},
      {
        privileged: true,
        seccomp: { profile_type: "RuntimeDefault", localhost_ref: "" },
        masked_paths: KUBELET_MASKED,
        readonly_paths: KUBELET_READONLY,
      },
      { allCapabilities: ["CAP_CHOWN", "CAP_SYS_ADMIN"] },
    );
    expect(spec.process.capabilities?.bounding).to.deep.equal(["CAP_CHOWN", "CAP_SYS_ADMIN"]);
    expect(spec.linux.seccomp).to.equal(undefined);
    expect(spec.linux.maskedPaths).to.equal(undefined);
    expect(spec.linux.readonlyPaths).to.equal(undefined);
    expect(spec.linux.resources?.devices).to.deep.equal([{ allow: true, access: "rwm" }]);
    expect(spec.mounts.find((m) => m.destination === "/sys")?.options).to.include("rw");
    expect(warnings[0]).to.match(/sandbox is not privileged/);
  });

  it("maps resources and clamps oom_score_adj with a warning", () => {
    const config = containerConfig();
    config.linux = {
      security_context: config.linux?.security_context ?? null,
      resources: resources({
        cpu_shares: "256",
        memory_limit_in_bytes: "1048576",
        oom_score_adj: "-997",
      }),
    };
    const { spec, warnings } = buildContainerSpec({
      config,
      sandboxConfig: sandboxConfig(),
      image: IMAGE,
      ctx: containerContext(config),
    });
    expect(spec.linux.resources).to.deep.include({
      cpu: { shares: 256 },
      memory: { limit: 1048576 },
    });
    expect(spec.process.oomScoreAdj).to.equal(0);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/oom_score_adj/);
  });

  it("adds requested devices", () => {
    const { spec } = build(
      {},
      {},
      {
        devices: [
          {
            index: 0,
            containerPath: "/dev/fuse",
            hostPath: "/dev/fuse",
            type: "c",
            major: 10,
            minor: 229,
            fileMode: 0o666,
            uid: 0,
            gid: 0,
            permissions: "rwm",
          },
        ],
      },
    );
    expect(spec.linux.devices).to.deep.equal([
      { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
    ]);
    expect(spec.linux.resources?.devices?.at(-1)).to.deep.equal({
      allow: true,
      type: "c",
      major: 10,
      minor: 229,
      access: "rwm",
    });
  });

  it("applies AppArmor and SELinux only where the host has them", () => {
    const sc = {
      apparmor: { profile_type: "Localhost" as const, localhost_ref: "k8s-prof" },
      selinux_options: { user: "", role: "", type: "", level: "s0:c5,c6" },
    };
    const without = build({}, sc);
    expect(without.spec.process.apparmorProfile).to.equal(undefined);
    expect(without.spec.process.selinuxLabel).to.equal(undefined);
    expect(without.warnings).to.have.length(2);
    const withBoth = build({}, sc, { hostHas: { apparmor: true, selinux: true } });
    expect(withBoth.spec.process.apparmorProfile).to.equal("k8s-prof");
    expect(withBoth.spec.process.selinuxLabel).to.equal("system_u:system_r:container_t:s0:c5,c6");
    expect(withBoth.spec.linux.mountLabel).to.equal("system_u:object_r:container_file_t:s0:c5,c6");
    expect(withBoth.warnings).to.deep.equal([]);
  });

  it("reports request errors with their CRI field", () => {
    expect(() => build({}, { run_as_username: "ghost" }))
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.linux.security_context.run_as_username");
    expect(() => build({}, {}, {}, { Cmd: [] }))
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.command");
  });

  it("handles a request without a linux section", () => {
    const config = containerConfig({ linux: null });
    const { spec } = buildContainerSpec({
      config,
      sandboxConfig: sandboxConfig(),
      image: IMAGE,
      ctx: containerContext(config),
    });
    expect(spec.process.capabilities?.bounding).to.have.length(14);
    expect(spec.linux.namespaces.find((n) => n.type === "pid")).to.deep.equal({
      type: "pid",
      path: "/proc/4242/ns/pid",
    });
  });
});
