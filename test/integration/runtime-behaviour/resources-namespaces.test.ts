// Resources and namespaces of CRI containers on the real runtime: memory limits in the cgroup,
// OOM kills, UpdateContainerResources, shared and private pid namespaces, host networking, and
// the crun handler where this host can run it.
import { promises as fs, readFileSync } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import type { HandlerProbe } from "../../../src/runtime/handler-registry.js";
import { eventually, type PodEnv, startPodEnv } from "../../support/pod-env.js";
import {
  conmonPidsUnder,
  createContainer,
  expectNothingLeft,
  memoryCgroupDir,
  type Pod,
  removePod,
  runOnce,
  runPod,
  waitState,
} from "./behaviour-helpers.js";

const MiB = 1024 * 1024;

function interfaceNames(procNetDev: string): string[] {
  return procNetDev
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0]!.trim())
    .filter((n) => n !== "")
    .sort();
}

describe("runtime behaviour: resources and namespaces (runc, conmon, overlayfs, CNI)", function () {
  this.timeout(120_000);
  let env: PodEnv;
  let pod: Pod;
  const pods = new Set<string>();
  let n = 0;
  const name = (base: string) => `${base}-${n++}`;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
    pod = await runPod(env, "resources", pods);
  });
  after(async () => {
    await env?.cleanup();
  });

  it("applies memory_limit_in_bytes to the cgroup and UpdateContainerResources changes it", async () => {
    const c = env.berthd.client.call;
    const id = await createContainer(env, pod, name("mem"), ["/bin/sleep", "600"], {
      linux: { resources: { memory_limit_in_bytes: 32 * MiB } },
    });
    await c.StartContainer({ container_id: id });
    await waitState(env, id, "CONTAINER_RUNNING");
    expect(
      conmonPidsUnder(env.berthd.dir).length,
      "conmon of the running container",
    ).to.be.at.least(1);
    const dir = await memoryCgroupDir(env, id);
    expect(dir).to.include(pod.id);
    const limitFile = path.join(dir, "memory.limit_in_bytes");
    expect((await fs.readFile(limitFile, "utf8")).trim()).to.equal(String(32 * MiB));
    const before = (await c.ContainerStatus({ container_id: id })).status!;
    expect(before.resources!.linux!.memory_limit_in_bytes).to.equal(String(32 * MiB));

    // As kubelet sends it: the whole resources message, CPU included.
    await c.UpdateContainerResources({
      container_id: id,
      linux: {
        memory_limit_in_bytes: 64 * MiB,
        cpu_shares: 512,
        cpu_period: 100_000,
        cpu_quota: 50_000,
      },
    });
    expect((await fs.readFile(limitFile, "utf8")).trim()).to.equal(String(64 * MiB));
    const cpuDir = dir.replace("/sys/fs/cgroup/memory/", "/sys/fs/cgroup/cpu/");
    const cpuFile = async (f: string) => (await fs.readFile(path.join(cpuDir, f), "utf8")).trim();
    expect(await cpuFile("cpu.shares")).to.equal("512");
    expect(await cpuFile("cpu.cfs_quota_us")).to.equal("50000");
    expect(await cpuFile("cpu.cfs_period_us")).to.equal("100000");
    const after = (await c.ContainerStatus({ container_id: id })).status!;
    expect(after.resources!.linux!.memory_limit_in_bytes).to.equal(String(64 * MiB));
    expect(after.resources!.linux!.cpu_quota).to.equal("50000");
    expect(after.state).to.equal("CONTAINER_RUNNING");
    await c.RemoveContainer({ container_id: id });
  });

  it("an allocation past the memory limit is OOMKilled with exit code 137", async () => {
    const r = await runOnce(env, pod, name("oom"), "head -c 200m /dev/zero | tail", {
      linux: { resources: { memory_limit_in_bytes: 32 * MiB } },
    });
    expect(r.exitCode, r.text).to.equal(137);
    expect(r.reason).to.equal("OOMKilled");
  });

  it("pid namespace POD: containers see each other; CONTAINER: they do not", async () => {
    const c = env.berthd.client.call;
    // The sleeper's command line ends the line; grep's own ends in "$", the shell's in "true".
    const look = "ps -o args | grep -c '/bin/sleep 7777$' || true";
    for (const [mode, expected] of [
      ["POD", "1"],
      ["CONTAINER", "0"],
    ] as const) {
      const p = await runPod(env, `pid-${mode.toLowerCase()}`, pods, {
        linux: {
          security_context: { namespace_options: { network: "POD", pid: mode, ipc: "POD" } },
        },
      });
      const nsOpts = { network: "POD", pid: mode, ipc: "POD" } as const;
      const sleeper = await createContainer(env, p, "sleeper", ["/bin/sleep", "7777"], {
        linux: { security_context: { namespace_options: nsOpts } },
      });
      await c.StartContainer({ container_id: sleeper });
      await waitState(env, sleeper, "CONTAINER_RUNNING");
      const r = await runOnce(env, p, "looker", `${look}; ls /proc | grep -c '^[0-9]*$'`, {
        linux: { security_context: { namespace_options: nsOpts } },
      });
      expect(r.lines[0], `${mode}: ${r.text}`).to.equal(expected);
      // POD: the infra process, the sleeper, and the looker's own processes; CONTAINER: only
      // the looker's shell and its children.
      const procs = Number(r.lines[1]);
      if (mode === "POD") expect(procs, r.text).to.be.at.least(4);
      else expect(procs, r.text).to.be.at.most(3);
      await removePod(env, p);
    }
  });

  it("a host-network pod sees the host's interfaces", async () => {
    const hostBefore = interfaceNames(readFileSync("/proc/net/dev", "utf8"));
    expect(hostBefore).to.include(env.bridge);
    const nsOpts = { network: "NODE", pid: "CONTAINER", ipc: "POD" } as const;
    const p = await runPod(env, "hostnet", pods, {
      linux: { security_context: { namespace_options: nsOpts } },
    });
    const r = await runOnce(env, p, "ifaces", "cat /proc/net/dev", {
      linux: { security_context: { namespace_options: nsOpts } },
    });
    const hostAfter = interfaceNames(readFileSync("/proc/net/dev", "utf8"));
    const inside = interfaceNames(r.lines.join("\n"));
    // Other tests may add or remove links meanwhile: every link present before and after must
    // be seen, and the test's own bridge exists only on the host's network namespace.
    const stable = hostBefore.filter((i) => hostAfter.includes(i));
    expect(inside).to.include.members(stable);
    expect(inside).to.include(env.bridge);
    await removePod(env, p);

    const podNet = await runOnce(env, pod, name("podnet"), "cat /proc/net/dev");
    const podIfaces = interfaceNames(podNet.lines.join("\n"));
    expect(podIfaces).to.not.include(env.bridge);
    expect(podIfaces).to.include("lo");
  });

  it("runs a pod with runtime_handler crun where Status lists it as usable", async function () {
    const c = env.berthd.client.call;
    const st = await c.Status({ verbose: true });
    const probes = JSON.parse(st.info["runtimeHandlers"] ?? "[]") as HandlerProbe[];
    const crun = probes.find((h) => h.name === "crun");
    expect(crun, "crun is a configured handler").to.not.equal(undefined);
    const listed = st.runtime_handlers.map((h) => h.name);
    if (!crun!.ok) {
      expect(listed).to.not.include("crun");
      console.log(`      skipped: crun is not usable on this host: ${crun!.reason}`);
      this.skip();
    }
    expect(listed).to.include("crun");
    const p = await runPod(env, "crun", pods, {}, "crun");
    const r = await runOnce(env, p, "hello", "echo from crun");
    expect(r.exitCode, r.text).to.equal(0);
    expect(r.lines).to.deep.equal(["from crun"]);
    const sb = await c.PodSandboxStatus({ pod_sandbox_id: p.id });
    expect(sb.status!.runtime_handler).to.equal("crun");
    await removePod(env, p);
  });

  it("leaves no mounts, pod cgroups, netns or conmon processes behind", async () => {
    await eventually(async () => {
      // The memory cgroup of the first pod exists while it runs: the check below is not vacuous.
      await fs.access(`/sys/fs/cgroup/memory/berth/${pod.id}`);
    });
    await expectNothingLeft(env, pods);
  });
});
