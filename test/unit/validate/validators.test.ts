// The request validators on their own: each hostile value is INVALID_ARGUMENT naming the proto
// field, what kubelet and critest send passes, and no message quotes more than a bounded slice
// of the client's value.
import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import { validateContainerFields } from "../../../src/validate/container-config.js";
import { checkCgroupParent } from "../../../src/cgroup/cgroup-parent.js";
import { checkLogDirectory, checkLogPath } from "../../../src/validate/paths.js";
import { checkCpuset, validateResources } from "../../../src/validate/resources.js";
import { validateSandboxFields } from "../../../src/validate/sandbox-config.js";
import { clip, quote } from "../../../src/validate/text.js";
import { containerConfig, mount, resources, sandboxConfig } from "../runtime-spec/fixtures.js";

const v1 = { cgroupUnified: false };
const v2 = { cgroupUnified: true };
const fs = { cgroupUnified: false, cgroupDriver: "cgroupfs" as const };

function fails(fn: () => void, field: string): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidArgumentError);
    const e = err as InvalidArgumentError;
    expect(e.field).to.equal(field);
    // Never the whole of a long client value.
    expect(e.message.length).to.be.below(400);
    return e;
  }
  return expect.fail(`accepted; expected INVALID_ARGUMENT on ${field}`);
}

describe("request validation", () => {
  describe("pod sandbox config", () => {
    it("accepts kubelet's and critest's shapes", () => {
      validateSandboxFields(sandboxConfig(), fs);
      validateSandboxFields(
        sandboxConfig({
          metadata: {
            name: "create-PodSandbox-for-container-3f1c5a2e-7d1b-4c7e-9a55-0b7b1f1f0c1d",
            namespace: "cri-test-namespace3f1c5a2e",
            uid: "3f1c5a2e-7d1b-4c7e-9a55-0b7b1f1f0c1d",
            attempt: 0,
          },
          hostname: "web-0.web.default.svc.cluster.local",
          labels: { "io.kubernetes.pod.name": "x".repeat(253), app: "" },
          annotations: { "kubernetes.io/config.seen": "2026-01-01T00:00:00Z", note: "✓ ünïcode" },
          port_mappings: [{ protocol: "UDP", container_port: 53, host_port: 0, host_ip: "" }],
          dns_config: {
            servers: ["10.96.0.10"],
            searches: ["svc.cluster.local"],
            options: ["ndots:5"],
          },
        }),
        fs,
      );
      validateSandboxFields(
        sandboxConfig({
          linux: { ...sandboxConfig().linux!, cgroup_parent: "kubepods-burstable-pod1.slice" },
        }),
        { ...fs, cgroupDriver: "systemd" },
      );
    });

    const cases: [string, Parameters<typeof sandboxConfig>[0], string][] = [
      [
        "a NUL in the name",
        { metadata: { name: "a\0b", namespace: "n", uid: "u", attempt: 0 } },
        "config.metadata.name",
      ],
      [
        "a non-ASCII name",
        { metadata: { name: "pöd", namespace: "n", uid: "u", attempt: 0 } },
        "config.metadata.name",
      ],
      [
        "a 1 MB uid",
        { metadata: { name: "p", namespace: "n", uid: "u".repeat(1 << 20), attempt: 0 } },
        "config.metadata.uid",
      ],
      [
        "a 64-character namespace",
        { metadata: { name: "p", namespace: "n".repeat(64), uid: "u", attempt: 0 } },
        "config.metadata.namespace",
      ],
      [
        "a 254-character name",
        { metadata: { name: "p".repeat(254), namespace: "n", uid: "u", attempt: 0 } },
        "config.metadata.name",
      ],
      [
        "a '/' in the namespace",
        { metadata: { name: "p", namespace: "a/b", uid: "u", attempt: 0 } },
        "config.metadata.namespace",
      ],
      ["a 65-character hostname", { hostname: "h".repeat(65) }, "config.hostname"],
      ["a relative log directory", { log_directory: "." }, "config.log_directory"],
      ["a '..' log directory", { log_directory: "/var/log/../../etc" }, "config.log_directory"],
      [
        "host_port 99999",
        { port_mappings: [{ protocol: "TCP", container_port: 80, host_port: 99999, host_ip: "" }] },
        "config.port_mappings[0].host_port",
      ],
      [
        "a bad protocol",
        {
          port_mappings: [
            { protocol: 7 as unknown as "TCP", container_port: 80, host_port: 0, host_ip: "" },
          ],
        },
        "config.port_mappings[0].protocol",
      ],
      [
        "a bad host_ip",
        { port_mappings: [{ protocol: "TCP", container_port: 80, host_port: 0, host_ip: "::g" }] },
        "config.port_mappings[0].host_ip",
      ],
      [
        "a newline in a DNS search",
        { dns_config: { servers: [], searches: ["a\nnameserver 1.2.3.4"], options: [] } },
        "config.dns_config.searches[0]",
      ],
      ["a label key with a space", { labels: { "a b": "x" } }, "config.labels"],
      [
        "annotations over 256 KiB",
        { annotations: { a: "x".repeat(200_000), b: "y".repeat(100_000) } },
        "config.annotations",
      ],
      ["a NUL in an annotation value", { annotations: { a: "x\0" } }, 'config.annotations["a"]'],
    ];
    for (const [what, over, field] of cases) {
      it(`refuses ${what}`, () =>
        fails(() => validateSandboxFields(sandboxConfig(over), fs), field));
    }

    it("reports a NUL as a NUL byte", () => {
      const e = fails(
        () =>
          validateSandboxFields(
            sandboxConfig({ metadata: { name: "a\0", namespace: "n", uid: "u", attempt: 0 } }),
            fs,
          ),
        "config.metadata.name",
      );
      expect(e.message).to.contain("NUL byte");
    });

    it("refuses resources and overhead the kernel would refuse", () => {
      const linux = sandboxConfig().linux!;
      fails(
        () =>
          validateSandboxFields(
            sandboxConfig({
              linux: { ...linux, overhead: resources({ memory_limit_in_bytes: "1" }) },
            }),
            fs,
          ),
        "config.linux.overhead.memory_limit_in_bytes",
      );
      fails(
        () =>
          validateSandboxFields(
            sandboxConfig({ linux: { ...linux, resources: resources({ cpu_shares: "300000" }) } }),
            fs,
          ),
        "config.linux.resources.cpu_shares",
      );
    });
  });

  describe("cgroup_parent", () => {
    it("accepts kubelet's cgroupfs and systemd forms and empty", () => {
      checkCgroupParent("", "cgroupfs");
      checkCgroupParent("/kubepods/burstable/pod3f1c5a2e-7d1b-4c7e-9a55-0b7b1f1f0c1d", "cgroupfs");
      checkCgroupParent("kubepods-burstable-pod3f1c5a2e_7d1b.slice", "systemd");
      checkCgroupParent(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
        "systemd",
      );
    });
    for (const bad of [
      "x-rel",
      "/../../../x",
      "/a//b",
      "/a/./b",
      "/a/",
      "/",
      "/a b",
      `/${"x".repeat(100_000)}`,
      "/a\0b",
    ]) {
      it(`refuses ${quote(bad, 20)} for cgroupfs`, () => {
        fails(() => checkCgroupParent(bad, "cgroupfs", "f"), "f");
      });
    }
    for (const bad of ["/kubepods/pod1", "x.slice/../y.slice", "a b.slice"]) {
      it(`refuses ${quote(bad)} for systemd`, () =>
        fails(() => checkCgroupParent(bad, "systemd", "f"), "f"));
    }
  });

  describe("log paths", () => {
    it("accepts kubelet's", () => {
      checkLogDirectory("/var/log/pods/default_web_uid-1");
      checkLogPath("app/0.log");
      checkLogPath("");
    });
    for (const bad of [".", "..", "a/../../x", "/etc/passwd", "a//b", "dir/", "a\0b"]) {
      it(`refuses log_path ${quote(bad)}`, () => fails(() => checkLogPath(bad), "config.log_path"));
    }
    for (const bad of ["relative", "/", "/a/../b", "/a\0"]) {
      it(`refuses log_directory ${quote(bad)}`, () =>
        fails(() => checkLogDirectory(bad), "config.log_directory"));
    }
  });

  describe("resources (one validator for create, update and the pod)", () => {
    it("accepts unset values and kubelet's", () => {
      validateResources(resources(), "r", v1);
      validateResources(
        resources({
          cpu_shares: "2",
          cpu_period: "100000",
          cpu_quota: "-1",
          memory_limit_in_bytes: String(64 << 20),
          memory_swap_limit_in_bytes: String(128 << 20),
          oom_score_adj: "-997",
          cpuset_cpus: "0-3,5",
          cpuset_mems: "0",
          hugepage_limits: [{ page_size: "2MB", limit: "0" }],
        }),
        "r",
        v1,
      );
      validateResources(resources({ unified: { "memory.high": "max" } }), "r", v2);
    });
    const cases: [string, Parameters<typeof resources>[0], string][] = [
      ["cpu_shares above 262144", { cpu_shares: "262145" }, "r.cpu_shares"],
      ["cpu_shares 1", { cpu_shares: "1" }, "r.cpu_shares"],
      ["a cfs period of 10", { cpu_period: "10" }, "r.cpu_period"],
      ["a cfs period over 1 s", { cpu_period: "1000001" }, "r.cpu_period"],
      ["a quota of 5", { cpu_quota: "5" }, "r.cpu_quota"],
      ["a quota of -2", { cpu_quota: "-2" }, "r.cpu_quota"],
      ["a 1-byte memory limit", { memory_limit_in_bytes: "1" }, "r.memory_limit_in_bytes"],
      [
        "a memory limit beyond 2^53",
        { memory_limit_in_bytes: "9223372036854775807" },
        "r.memory_limit_in_bytes",
      ],
      [
        "swap below memory",
        { memory_limit_in_bytes: String(64 << 20), memory_swap_limit_in_bytes: String(32 << 20) },
        "r.memory_swap_limit_in_bytes",
      ],
      ["oom_score_adj 100000", { oom_score_adj: "100000" }, "r.oom_score_adj"],
      ["oom_score_adj -1001", { oom_score_adj: "-1001" }, "r.oom_score_adj"],
      ["a garbage cpuset", { cpuset_cpus: "zero-3" }, "r.cpuset_cpus"],
      ["a reversed cpuset range", { cpuset_mems: "3-1" }, "r.cpuset_mems"],
      [
        "a bad page size",
        { hugepage_limits: [{ page_size: "2M", limit: "1" }] },
        "r.hugepage_limits[0].page_size",
      ],
      [
        "a negative hugepage limit",
        { hugepage_limits: [{ page_size: "2MB", limit: "-1" }] },
        "r.hugepage_limits[0].limit",
      ],
      ["unified on a cgroup v1 host", { unified: { "memory.high": "max" } }, "r.unified"],
    ];
    for (const [what, over, field] of cases) {
      it(`refuses ${what}`, () => fails(() => validateResources(resources(over), "r", v1), field));
    }
    it("refuses a unified key that is a path, even on cgroup v2", () => {
      fails(
        () => validateResources(resources({ unified: { "../../x": "1" } }), "r", v2),
        "r.unified",
      );
    });
    it("cpusets: single, ranges and lists pass; empty parts do not", () => {
      checkCpuset("f", "0");
      checkCpuset("f", "0-1,3,5-7");
      fails(() => checkCpuset("f", "0,,1"), "f");
      fails(() => checkCpuset("f", "99999"), "f");
      checkCpuset("f", "0-1", "0-3");
      fails(() => checkCpuset("f", "1000", "0-1"), "f");
      fails(() => checkCpuset("f", "1-2", "0-1,3"), "f");
    });
  });

  describe("container config", () => {
    it("accepts kubelet's shape", () => {
      validateContainerFields(
        containerConfig({
          command: ["/bin/sh", "-c", "echo ✓"],
          envs: [{ key: "PATH", value: Buffer.from("/bin") }],
          working_dir: "/work",
          log_path: "app/0.log",
          labels: { "io.kubernetes.container.name": "app" },
          stop_signal: "SIGNAL_SIGTERM",
        }),
        v1,
      );
    });
    const cases: [string, Parameters<typeof containerConfig>[0], string][] = [
      ["a non-ASCII name", { metadata: { name: "ä", attempt: 0 } }, "config.metadata.name"],
      ["a NUL in the command", { command: ["/bin/sh\0"] }, "config.command[0]"],
      ["a NUL in args", { args: ["a", "b\0"] }, "config.args[1]"],
      ["a 100 KB executable", { command: ["x".repeat(100_000)] }, "config.command[0]"],
      ["a 100 KB executable in args", { args: ["x".repeat(100_000)] }, "config.args[0]"],
      ["a non-ASCII log_path", { log_path: "pöd.log" }, "config.log_path"],
      ["a 200 KiB argument", { args: ["ls", "x".repeat(200 * 1024)] }, "config.args[1]"],
      [
        "argv over 1 MiB in all",
        { args: Array.from({ length: 10 }, () => "x".repeat(120 * 1024)) },
        "config.args",
      ],
      [
        "an env key with '='",
        { envs: [{ key: "A=B", value: Buffer.alloc(0) }] },
        "config.envs[0].key",
      ],
      [
        "a NUL in an env value",
        { envs: [{ key: "A", value: Buffer.from("x\0") }] },
        "config.envs[0].value",
      ],
      [
        "a mount over the root",
        { mounts: [mount({ container_path: "//." })] },
        "config.mounts[0].container_path",
      ],
      ["a relative working_dir", { working_dir: "work" }, "config.working_dir"],
      ["log_path '.'", { log_path: "." }, "config.log_path"],
      ["an absolute log_path", { log_path: "/etc/x" }, "config.log_path"],
      [
        "a NUL in a mount's host_path",
        {
          mounts: [mount({ container_path: "/d", host_path: "/x\0" })],
        },
        "config.mounts[0].host_path",
      ],
      [
        "a relative device path",
        { devices: [{ container_path: "dev/x", host_path: "/dev/null", permissions: "rwm" }] },
        "config.devices[0].container_path",
      ],
      [
        "bad device permissions",
        { devices: [{ container_path: "/dev/x", host_path: "/dev/null", permissions: "rwx" }] },
        "config.devices[0].permissions",
      ],
      [
        "an unknown stop signal",
        { stop_signal: 99 as unknown as "SIGNAL_SIGTERM" },
        "config.stop_signal",
      ],
      [
        "an empty image",
        {
          image: {
            image: "",
            annotations: {},
            user_specified_image: "",
            runtime_handler: "",
            image_ref: "",
          },
        },
        "config.image.image",
      ],
    ];
    for (const [what, over, field] of cases) {
      it(`refuses ${what}`, () =>
        fails(() => validateContainerFields(containerConfig(over), v1), field));
    }
    it("checks its resources with the same validator", () => {
      const cfg = containerConfig();
      cfg.linux!.resources = resources({ oom_score_adj: "100000" });
      fails(() => validateContainerFields(cfg, v1), "config.linux.resources.oom_score_adj");
    });
  });

  describe("quoting client values", () => {
    it("quotes at most 64 characters, escaped, and says how long the value was", () => {
      const q = quote(`a\0${"x".repeat(10_000)}`);
      expect(q.length).to.be.below(110);
      expect(q).to.contain("\\u0000").and.contain("10002 characters");
      expect(quote("short")).to.equal('"short"');
      expect(clip("y".repeat(5000), 100)).to.have.length.below(140);
    });
  });
});
