// Hostile CreateContainer and UpdateContainerResources requests in a real, ready pod (runc,
// conmon, overlayfs, CNI): each is INVALID_ARGUMENT naming the field, at once, before a rootfs
// is mounted or a bundle written; an update that would be refused by the kernel or by Create
// changes nothing in the cgroup nor in ContainerStatus.
import { existsSync, promises as fs, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import type { ContainerConfig } from "../../../src/gen/runtime/v1/ContainerConfig.js";
import { type PodEnv, startPodEnv } from "../../support/pod-env.js";
import {
  createContainer,
  expectNothingLeft,
  memoryCgroupDir,
  type Pod,
  runPod,
  waitState,
} from "../runtime-behaviour/behaviour-helpers.js";
import { containerConfig } from "../../support/pod-env.js";

interface GrpcError {
  code: number;
  details: string;
}

const MiB = 1024 * 1024;

describe("hostile container requests (real pod)", function () {
  this.timeout(120_000);
  let env: PodEnv;
  let pod: Pod;
  const pods = new Set<string>();

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
    pod = await runPod(env, "hostile", pods);
  });
  after(async () => {
    try {
      if (env) await expectNothingLeft(env, pods);
    } finally {
      await env?.cleanup();
    }
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
      expect(e.details.length).to.be.below(1100);
      return e;
    }
    return expect.fail(`accepted; expected INVALID_ARGUMENT on ${field}`);
  }

  /** Nothing of a refused create is left: no container, no bundle, no overlay, no mount. */
  function expectNoContainerLeft(): void {
    const dirs = [path.join(env.berthd.state, "containers"), path.join(env.berthd.root, "overlay")];
    for (const d of dirs) expect(existsSync(d) ? readdirSync(d) : [], d).to.deep.equal([]);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.includes(path.join(env.berthd.state, "containers")));
    expect(mounts).to.deep.equal([]);
  }

  const cases: [string, Partial<ContainerConfig>, string][] = [
    ["a non-ASCII name", { metadata: { name: "ctr-ünïcode" } }, "config.metadata.name"],
    ["a NUL in the command", { command: ["/bin/sh\0", "-c", "true"] }, "config.command[0]"],
    ["a NUL in an argument", { args: ["a\0b"] }, "config.args[0]"],
    [
      "a NUL in an env value",
      { envs: [{ key: "A", value: Buffer.from("x\0y") }] },
      "config.envs[0].value",
    ],
    ["a NUL in working_dir", { working_dir: "/tmp\0" }, "config.working_dir"],
    ["log_path '.'", { log_path: "." }, "config.log_path"],
    ["a non-ASCII log_path", { log_path: "pöd-✓.log" }, "config.log_path"],
    ["a 100 KB executable", { command: ["x".repeat(100 * 1024), "600"] }, "config.command[0]"],
    ["a NUL in log_path", { log_path: "a\0.log" }, "config.log_path"],
    ["an absolute log_path", { log_path: "/tmp/escape.log" }, "config.log_path"],
    [
      "a NUL in a mount's host_path",
      { mounts: [{ container_path: "/m", host_path: "/tmp/a\0b" }] },
      "config.mounts[0].host_path",
    ],
    [
      "a NUL in a device path",
      { devices: [{ container_path: "/dev/x", host_path: "/dev/null\0", permissions: "rw" }] },
      "config.devices[0].host_path",
    ],
    [
      "a 1-byte memory limit",
      { linux: { resources: { memory_limit_in_bytes: 1 } } },
      "config.linux.resources.memory_limit_in_bytes",
    ],
    [
      "unified on a cgroup v1 host",
      { linux: { resources: { unified: { "memory.high": "max" } } } },
      "config.linux.resources.unified",
    ],
    [
      "cpu_shares above 262144",
      { linux: { resources: { cpu_shares: 262145 } } },
      "config.linux.resources.cpu_shares",
    ],
    [
      "a cfs period of 10",
      { linux: { resources: { cpu_period: 10 } } },
      "config.linux.resources.cpu_period",
    ],
    [
      "swap below memory",
      {
        linux: {
          resources: { memory_limit_in_bytes: 64 * MiB, memory_swap_limit_in_bytes: 32 * MiB },
        },
      },
      "config.linux.resources.memory_swap_limit_in_bytes",
    ],
    [
      "a garbage cpuset",
      { linux: { resources: { cpuset_cpus: "all-of-them" } } },
      "config.linux.resources.cpuset_cpus",
    ],
    [
      "oom_score_adj 100000",
      { linux: { resources: { oom_score_adj: 100000 } } },
      "config.linux.resources.oom_score_adj",
    ],
  ];

  for (const [what, extra, field] of cases) {
    it(`CreateContainer with ${what}: INVALID_ARGUMENT naming ${field}, nothing left`, async () => {
      const cfg = { ...containerConfig(env, "bad", ["/bin/true"]), ...extra };
      await invalid(
        env.berthd.client.call.CreateContainer({
          pod_sandbox_id: pod.id,
          config: cfg,
          sandbox_config: pod.config,
        }),
        field,
      );
      expect((await env.berthd.client.call.ListContainers({})).containers).to.deep.equal([]);
      expectNoContainerLeft();
    });
  }

  it("ExecSync with a timeout past what a timer can wait runs the command rather than timing out at once", async () => {
    const c = env.berthd.client.call;
    const id = await createContainer(env, pod, "longwait", ["/bin/sleep", "600"]);
    try {
      await c.StartContainer({ container_id: id });
      await waitState(env, id, "CONTAINER_RUNNING");
      const res = await c.ExecSync({
        container_id: id,
        cmd: ["/bin/echo", "hello"],
        timeout: 12582912,
      });
      expect(res.exit_code).to.equal(0);
      expect(Buffer.from(res.stdout).toString()).to.equal("hello\n");
    } finally {
      await c.StopContainer({ container_id: id, timeout: 0 });
      await c.RemoveContainer({ container_id: id });
    }
  });

  it("UpdateContainerResources refuses what Create refuses and leaves the cgroup and status as they were", async () => {
    const c = env.berthd.client.call;
    const id = await createContainer(env, pod, "update", ["/bin/sleep", "600"], {
      linux: { resources: { memory_limit_in_bytes: 32 * MiB, oom_score_adj: 10 } },
    });
    try {
      await c.StartContainer({ container_id: id });
      await waitState(env, id, "CONTAINER_RUNNING");
      const dir = await memoryCgroupDir(env, id);
      const limit = () => fs.readFile(path.join(dir, "memory.limit_in_bytes"), "utf8");
      const before = await limit();
      const statusBefore = (await c.ContainerStatus({ container_id: id })).status!.resources;
      const bad: [Record<string, unknown>, string][] = [
        [{ memory_limit_in_bytes: 64 * MiB, oom_score_adj: 100000 }, "linux.oom_score_adj"],
        [{ memory_limit_in_bytes: 64 * MiB, cpu_period: 10 }, "linux.cpu_period"],
        [{ memory_limit_in_bytes: 64 * MiB, cpu_shares: 300000 }, "linux.cpu_shares"],
        [{ memory_limit_in_bytes: 64 * MiB, cpuset_cpus: "0-" }, "linux.cpuset_cpus"],
        // Well-formed, but no such CPU: runc failed half-way ("Setting back cgroup configs").
        [{ memory_limit_in_bytes: 64 * MiB, cpuset_cpus: "1000" }, "linux.cpuset_cpus"],
        [{ memory_limit_in_bytes: 1 }, "linux.memory_limit_in_bytes"],
        [{ memory_limit_in_bytes: 64 * MiB, unified: { "memory.high": "max" } }, "linux.unified"],
      ];
      for (const [linux, field] of bad) {
        await invalid(c.UpdateContainerResources({ container_id: id, linux }), field);
      }
      expect(await limit()).to.equal(before);
      expect((await c.ContainerStatus({ container_id: id })).status!.resources).to.deep.equal(
        statusBefore,
      );
    } finally {
      await c.StopContainer({ container_id: id, timeout: 0 });
      await c.RemoveContainer({ container_id: id });
    }
  });
});
