import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  buildSandboxSpec,
  SANDBOX_INIT_DESTINATION,
} from "../../../src/runtime/spec/sandbox-spec.js";
import { defaultSeccompProfile } from "../../../src/runtime/spec/seccomp-default.js";
import { namespaces, sandboxConfig, sandboxContext } from "./fixtures.js";

describe("runtime/spec buildSandboxSpec", () => {
  it("runs the init read-only in a minimal rootfs with the pod's namespaces", () => {
    const { spec, warnings } = buildSandboxSpec({ config: sandboxConfig(), ctx: sandboxContext() });
    expect(warnings).to.deep.equal([]);
    expect(spec.root).to.deep.equal({
      path: "/var/lib/berth/sandboxes/sb1/rootfs",
      readonly: true,
    });
    expect(spec.process.args).to.deep.equal([SANDBOX_INIT_DESTINATION, "-P"]);
    expect(spec.process.user).to.deep.equal({ uid: 0, gid: 0, additionalGids: [0] });
    expect(spec.process.noNewPrivileges).to.equal(true);
    expect(spec.process.capabilities?.bounding).to.deep.equal([]);
    expect(spec.process.oomScoreAdj).to.equal(-998);
    expect(spec.hostname).to.equal("web");
    expect(spec.mounts.find((m) => m.destination === SANDBOX_INIT_DESTINATION)).to.deep.equal({
      destination: SANDBOX_INIT_DESTINATION,
      type: "bind",
      source: "/usr/bin/catatonit",
      options: ["rbind", "rprivate", "ro", "nosuid", "nodev"],
    });
    expect(spec.mounts.find((m) => m.destination === "/dev/shm")?.source).to.equal(
      "/var/lib/berth/sandboxes/sb1/shm",
    );
    expect(spec.linux.namespaces).to.deep.equal([
      { type: "mount" },
      { type: "network" },
      { type: "uts" },
      { type: "ipc" },
      { type: "pid" },
    ]);
    expect(spec.linux.cgroupsPath).to.equal("/kubepods/poduid-1/sb1");
    expect(spec.linux.resources?.cpu).to.deep.equal({ shares: 2 });
    expect(spec.linux.maskedPaths).to.include("/proc/kcore");
    expect(spec.linux.readonlyPaths).to.include("/proc/sys");
    expect(spec.annotations).to.deep.include({
      "io.kubernetes.cri.container-type": "sandbox",
      "io.kubernetes.cri.sandbox-id": "sb1",
      "io.kubernetes.cri.sandbox-name": "web",
      "io.kubernetes.cri.sandbox-namespace": "default",
      "io.kubernetes.cri.sandbox-log-directory": "/var/log/pods/default_web_uid-1",
    });
  });

  it("joins a given network namespace and uses the host's for NODE", () => {
    const joined = buildSandboxSpec({
      config: sandboxConfig(),
      ctx: sandboxContext({ namespacePaths: { net: "/var/run/netns/cni-x" } }),
    });
    expect(joined.spec.linux.namespaces[1]).to.deep.equal({
      type: "network",
      path: "/var/run/netns/cni-x",
    });
    const host = buildSandboxSpec({
      config: sandboxConfig(
        {},
        { namespace_options: namespaces({ network: "NODE", ipc: "NODE", pid: "NODE" }) },
      ),
      ctx: sandboxContext(),
    });
    expect(host.spec.linux.namespaces).to.deep.equal([{ type: "mount" }]);
    expect(host.spec.hostname).to.equal(undefined);
  });

  it("clamps the infra oom_score_adj with a warning where berth cannot lower it", () => {
    const { spec, warnings } = buildSandboxSpec({
      config: sandboxConfig(),
      ctx: sandboxContext({ oomScoreAdjMin: 0 }),
    });
    expect(spec.process.oomScoreAdj).to.equal(0);
    expect(warnings).to.have.length(1);
  });

  it("sets namespaced sysctls and refuses host ones", () => {
    const ok = buildSandboxSpec({
      config: sandboxConfig(
        {},
        {},
        { "net.ipv4.ip_unprivileged_port_start": "0", "kernel.shmmni": "8192" },
      ),
      ctx: sandboxContext(),
    });
    expect(ok.spec.linux.sysctl).to.deep.equal({
      "net.ipv4.ip_unprivileged_port_start": "0",
      "kernel.shmmni": "8192",
    });
    expect(() =>
      buildSandboxSpec({
        config: sandboxConfig({}, {}, { "kernel.core_pattern": "|/x" }),
        ctx: sandboxContext(),
      }),
    )
      .to.throw(InvalidArgumentError)
      .with.property("field", 'config.linux.sysctls["kernel.core_pattern"]');
    expect(() =>
      buildSandboxSpec({
        config: sandboxConfig(
          {},
          { namespace_options: namespaces({ network: "NODE" }) },
          { "net.core.somaxconn": "1024" },
        ),
        ctx: sandboxContext(),
      }),
    ).to.throw(InvalidArgumentError);
  });

  it("applies run_as_user, run_as_group, supplemental groups and seccomp", () => {
    const { spec } = buildSandboxSpec({
      config: sandboxConfig(
        {},
        {
          run_as_user: { value: "65535" },
          run_as_group: { value: "65535" },
          supplemental_groups: ["3000"],
          seccomp: { profile_type: "RuntimeDefault", localhost_ref: "" },
        },
      ),
      ctx: sandboxContext({ initArgs: ["-P", "-g"] }),
    });
    expect(spec.process.user).to.deep.equal({
      uid: 65535,
      gid: 65535,
      additionalGids: [65535, 3000],
    });
    expect(spec.process.args).to.deep.equal([SANDBOX_INIT_DESTINATION, "-P", "-g"]);
    expect(spec.linux.seccomp).to.deep.equal(defaultSeccompProfile([], "x64"));
  });

  it("privileged sandboxes get no seccomp, no masks and all devices", () => {
    const { spec } = buildSandboxSpec({
      config: sandboxConfig(
        {},
        { privileged: true, seccomp: { profile_type: "RuntimeDefault", localhost_ref: "" } },
      ),
      ctx: sandboxContext(),
    });
    expect(spec.linux.seccomp).to.equal(undefined);
    expect(spec.linux.maskedPaths).to.equal(undefined);
    expect(spec.linux.resources?.devices).to.deep.equal([{ allow: true, access: "rwm" }]);
  });

  it("refuses TARGET pid mode for a sandbox", () => {
    expect(() =>
      buildSandboxSpec({
        config: sandboxConfig({}, { namespace_options: namespaces({ pid: "TARGET" }) }),
        ctx: sandboxContext(),
      }),
    )
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.linux.security_context.namespace_options.pid");
  });
});
