// Hostile RunPodSandbox / UpdateContainerResources / ExecSync requests against a real berthd:
// each is INVALID_ARGUMENT naming the field, answered at once, nothing is made (no pod, no
// cgroup at the top of a hierarchy), and neither the status nor berthd's log echoes the
// client's megabyte.
import { promises as fs } from "node:fs";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import type { PodSandboxConfig } from "../../src/gen/runtime/v1/PodSandboxConfig.js";
import { Berthd } from "../support/berthd.js";

interface GrpcError {
  code: number;
  details: string;
}

const MB = "x".repeat(1 << 20);

function pod(over: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  return {
    metadata: { name: "hostile", namespace: "berth-test", uid: "uid-hostile", attempt: 0 },
    log_directory: "/tmp/berth-hostile-logs",
    ...over,
  };
}

function meta(over: Record<string, string>): Partial<PodSandboxConfig> {
  return {
    metadata: { name: "hostile", namespace: "berth-test", uid: "uid-hostile", attempt: 0, ...over },
  };
}

function linux(over: NonNullable<PodSandboxConfig["linux"]>): Partial<PodSandboxConfig> {
  return { linux: over };
}

async function cgroupTops(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const h of await fs.readdir("/sys/fs/cgroup").catch(() => [] as string[])) {
    const entries = await fs.readdir(`/sys/fs/cgroup/${h}`).catch(() => [] as string[]);
    for (const e of entries) out.add(`${h}/${e}`);
  }
  return out;
}

describe("hostile requests (gRPC)", function () {
  this.timeout(60_000);
  let b: Berthd;
  before(async () => {
    b = await Berthd.start({ logLevel: "info" });
  });
  after(async () => {
    await b?.cleanup();
  });

  async function invalid(call: Promise<unknown>, field: string): Promise<GrpcError> {
    const t0 = Date.now();
    try {
      await call;
    } catch (err) {
      const e = err as GrpcError;
      expect(e.details, `code ${e.code}: ${e.details.slice(0, 300)}`).to.contain(field);
      expect(e.code, e.details.slice(0, 300)).to.equal(status.INVALID_ARGUMENT);
      expect(Date.now() - t0, "answered at once").to.be.below(1000);
      expect(e.details.length, "bounded status message").to.be.below(1100);
      return e;
    }
    return expect.fail(`accepted; expected INVALID_ARGUMENT on ${field}`);
  }

  const cases: [string, Partial<PodSandboxConfig>, string][] = [
    ["a non-ASCII name", meta({ name: "pöd-ünïcode" }), "config.metadata.name"],
    ["a 1 MB name", meta({ name: MB }), "config.metadata.name"],
    ["a 1 MB uid", meta({ uid: MB }), "config.metadata.uid"],
    ["a 1 MB namespace", meta({ namespace: MB }), "config.metadata.namespace"],
    ["a hostname over 64", { hostname: "h".repeat(100) }, "config.hostname"],
    ["log_directory '.'", { log_directory: "." }, "config.log_directory"],
    ["a NUL in log_directory", { log_directory: "/tmp/a\0b" }, "config.log_directory"],
    ["a relative cgroup_parent", linux({ cgroup_parent: "x-rel" }), "config.linux.cgroup_parent"],
    ["a '..' cgroup_parent", linux({ cgroup_parent: "/../../../x" }), "config.linux.cgroup_parent"],
    [
      "a 100 KB cgroup_parent",
      linux({ cgroup_parent: `/${"c".repeat(100_000)}` }),
      "config.linux.cgroup_parent",
    ],
    [
      "host_port 99999",
      { port_mappings: [{ protocol: "TCP", container_port: 80, host_port: 99999 }] },
      "config.port_mappings[0].host_port",
    ],
    [
      "a 1-byte memory limit in the pod's resources",
      linux({ resources: { memory_limit_in_bytes: 1 } }),
      "config.linux.resources.memory_limit_in_bytes",
    ],
    [
      "unified resources on this cgroup v1 host",
      linux({ overhead: { unified: { "memory.high": "max" } } }),
      "config.linux.overhead.unified",
    ],
    [
      "a NUL in a sysctl value",
      linux({ sysctls: { "net.ipv4.ip_forward": "1\0" } }),
      "config.linux.sysctls",
    ],
    ["annotations over 256 KiB", { annotations: { a: MB } }, "config.annotations"],
    [
      "a newline in a DNS search",
      { dns_config: { searches: ["a\nnameserver 6.6.6.6"] } },
      "config.dns_config.searches[0]",
    ],
  ];

  for (const [what, over, field] of cases) {
    it(`RunPodSandbox with ${what}: INVALID_ARGUMENT naming ${field}, nothing made`, async () => {
      const before = await cgroupTops();
      await invalid(b.client.call.RunPodSandbox({ config: pod(over) }), field);
      expect((await b.client.call.ListPodSandbox({})).items).to.deep.equal([]);
      const made = [...(await cgroupTops())].filter((c) => !before.has(c));
      expect(made, "cgroups made at the top of a hierarchy").to.deep.equal([]);
    });
  }

  it("a NUL in a pod name is reported as a NUL byte", async () => {
    const e = await invalid(
      b.client.call.RunPodSandbox({ config: pod(meta({ name: "a\0b" })) }),
      "config.metadata.name",
    );
    expect(e.details).to.contain("NUL byte").and.not.contain("; or =");
  });

  it("UpdateContainerResources rejects what CreateContainer rejects, before looking the container up", async () => {
    await invalid(
      b.client.call.UpdateContainerResources({
        container_id: "nope",
        linux: { oom_score_adj: 100000 },
      }),
      "linux.oom_score_adj",
    );
    await invalid(
      b.client.call.UpdateContainerResources({ container_id: "nope", linux: { cpu_period: 10 } }),
      "linux.cpu_period",
    );
    await invalid(
      b.client.call.UpdateContainerResources({
        container_id: "nope",
        linux: { cpuset_cpus: "garbage" },
      }),
      "linux.cpuset_cpus",
    );
  });

  it("ExecSync and Exec refuse a NUL in the command before looking the container up", async () => {
    await invalid(b.client.call.ExecSync({ container_id: "nope", cmd: ["/bin/sh\0"] }), "cmd[0]");
    await invalid(
      b.client.call.Exec({ container_id: "nope", cmd: ["ls", "\0"], stdout: true }),
      "cmd[1]",
    );
  });

  it("neither the status nor the log echoes a 1 MB id", async () => {
    const logBefore = b.logs.length;
    for (let i = 0; i < 5; i++) {
      try {
        await b.client.call.ContainerStatus({ container_id: MB });
        expect.fail("found");
      } catch (err) {
        const e = err as GrpcError;
        expect(e.code).to.equal(status.NOT_FOUND);
        expect(e.details.length).to.be.below(200);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(b.logs.length - logBefore, "log growth for 5 calls").to.be.below(5 * 2048);
    expect(b.running).to.equal(true);
  });
});
