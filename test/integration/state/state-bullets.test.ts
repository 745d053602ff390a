// Issue 11, "Wrong state (kubelet acts on it)": each bullet reproduced against a real berthd,
// runc and conmon. Each of these failed on the code before the fix.
import { expect } from "chai";
import type { ContainerEventResponse__Output } from "../../../src/gen/runtime/v1/ContainerEventResponse.js";
import {
  containerConfig,
  eventually,
  podConfig,
  type PodEnv,
  runPodWith,
  startPodEnv,
} from "../../support/pod-env.js";
import { alive, cgroupProcs, conmonPidsFor, containerInfo } from "./state-helpers.js";

const SHARED_PID = {
  linux: {
    security_context: {
      namespace_options: { network: "POD" as const, pid: "POD" as const, ipc: "POD" as const },
    },
  },
};

describe("state: wrong-state bullets of issue 11", function () {
  this.timeout(120_000);
  let env: PodEnv;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
  });
  after(async () => {
    await env?.cleanup();
  });

  it("a pod whose infra dies is NOTREADY and an event says so", async () => {
    const c = env.berthd.client.call;
    const events: ContainerEventResponse__Output[] = [];
    const cancel = env.berthd.client.watch(
      "GetContainerEvents",
      {},
      (e) => events.push(e),
      () => undefined,
    );
    try {
      await new Promise((r) => setTimeout(r, 200));
      const { pod_sandbox_id: podId } = await c.RunPodSandbox({
        // pid: POD: the pod has an infra process (drop_infra_ctr leaves the others without one).
        config: podConfig(env, "infra-dies", {
          linux: {
            security_context: { namespace_options: { network: "POD", pid: "POD", ipc: "POD" } },
          },
        }),
      });
      const info = JSON.parse(
        (await c.PodSandboxStatus({ pod_sandbox_id: podId, verbose: true })).info["info"]!,
      ) as { pid: number };
      expect(info.pid).to.be.greaterThan(0); // never kill(0): that is this process group
      process.kill(info.pid, "SIGKILL");
      await eventually(async () => {
        const st = await c.PodSandboxStatus({ pod_sandbox_id: podId });
        expect(st.status!.state).to.equal("SANDBOX_NOTREADY");
        const stopped = events.filter(
          (e) => e.container_id === podId && e.container_event_type === "CONTAINER_STOPPED_EVENT",
        );
        expect(stopped, "a stopped event for the pod").to.have.length(1);
        expect(stopped[0]!.pod_sandbox_status!.state).to.equal("SANDBOX_NOTREADY");
      }, 5000);
      await c.StopPodSandbox({ pod_sandbox_id: podId });
      await c.RemovePodSandbox({ pod_sandbox_id: podId });
    } finally {
      cancel();
    }
  });

  it("conmon killed: the container's death is noticed within seconds; stop and rm -f are quick", async () => {
    const c = env.berthd.client.call;
    const { podId, ctrId } = await runPodWith(env, "conmon-dies", ["sleep", "600"]);
    const { ctrId: second } = await (async () => {
      const pod = (await c.PodSandboxStatus({ pod_sandbox_id: podId })).status!;
      const cfg = podConfig(env, "conmon-dies");
      cfg.metadata = pod.metadata!;
      const { container_id } = await c.CreateContainer({
        pod_sandbox_id: podId,
        config: containerConfig(env, "second", ["sleep", "601"]),
        sandbox_config: cfg,
      });
      await c.StartContainer({ container_id });
      return { ctrId: container_id };
    })();

    // 1: conmon dies, then the container's process dies: berth records the exit.
    const { pid } = await containerInfo(env, ctrId);
    const [conmon] = conmonPidsFor(ctrId);
    expect(conmon, "conmon of the container").to.be.a("number");
    process.kill(conmon!, "SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    expect((await c.ContainerStatus({ container_id: ctrId })).status!.state).to.equal(
      "CONTAINER_RUNNING",
    );
    process.kill(pid, "SIGKILL");
    await eventually(async () => {
      const st = (await c.ContainerStatus({ container_id: ctrId })).status!;
      expect(st.state).to.equal("CONTAINER_EXITED");
      expect(st.message).to.match(/conmon/);
    }, 5000);
    let t0 = Date.now();
    await c.RemoveContainer({ container_id: ctrId });
    expect(Date.now() - t0, "rm after a dead monitor").to.be.below(3000);

    // 2: conmon dies while the container runs on: stop kills it and settles at once.
    const { pid: pid2 } = await containerInfo(env, second);
    process.kill(conmonPidsFor(second)[0]!, "SIGKILL");
    t0 = Date.now();
    await c.StopContainer({ container_id: second, timeout: 1 });
    expect(Date.now() - t0, "stop after a dead monitor").to.be.below(6000);
    const st = (await c.ContainerStatus({ container_id: second })).status!;
    expect(st.state).to.equal("CONTAINER_EXITED");
    expect([137, 143]).to.include(st.exit_code);
    expect(alive(pid2)).to.equal(false);
    await c.RemoveContainer({ container_id: second });
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("killed during StartContainer: after restart the record says RUNNING, no second copy runs", async () => {
    const b = env.berthd;
    await b.stop();
    await b.launch({ BERTH_TEST_PAUSE_AT: "start-container" });
    let c = b.client.call;
    const pod = podConfig(env, "start-crash");
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    const { container_id: ctrId } = await c.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(env, "w", ["sleep", "600"]),
      sandbox_config: pod,
    });
    const pending = c.StartContainer({ container_id: ctrId }).catch(() => undefined);
    await b.waitForLog(/test pause point reached/);
    await b.kill9();
    await pending;
    await b.launch();
    c = b.client.call;
    const st = (await c.ContainerStatus({ container_id: ctrId })).status!;
    expect(st.state).to.equal("CONTAINER_RUNNING");
    expect(st.started_at, "started_at").to.not.equal("0");
    const { cgroupPath } = await containerInfo(env, ctrId);
    expect(cgroupProcs(cgroupPath), "one process in the container").to.have.length(1);
    let err: unknown;
    await c.StartContainer({ container_id: ctrId }).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/FAILED_PRECONDITION|not CONTAINER_CREATED/);
    expect((await c.ContainerStatus({ container_id: ctrId })).status!.state).to.equal(
      "CONTAINER_RUNNING",
    );
    await c.StopContainer({ container_id: ctrId, timeout: 2 });
    expect((await c.ContainerStatus({ container_id: ctrId })).status!.state).to.equal(
      "CONTAINER_EXITED",
    );
    expect(cgroupProcs(cgroupPath)).to.deep.equal([]);
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("a partial UpdateContainerResources keeps the earlier values; the record is what the cgroup holds", async () => {
    const c = env.berthd.client.call;
    const { podId, ctrId } = await runPodWith(
      env,
      "update",
      ["sleep", "600"],
      {},
      {
        linux: {
          resources: {
            cpu_shares: "1024",
            cpu_quota: "50000",
            cpu_period: "100000",
            memory_limit_in_bytes: String(100 * 1024 * 1024),
          },
        },
      },
    );
    const { cgroupPath } = await containerInfo(env, ctrId);
    await c.UpdateContainerResources({
      container_id: ctrId,
      linux: { cpu_shares: "512", cpuset_cpus: "0" },
    });
    const r = (await c.ContainerStatus({ container_id: ctrId })).status!.resources!.linux!;
    expect([
      r.cpu_shares,
      r.cpu_quota,
      r.cpu_period,
      r.memory_limit_in_bytes,
      r.cpuset_cpus,
    ]).to.deep.equal(["512", "50000", "100000", String(100 * 1024 * 1024), "0"]);
    const { readFileSync } = await import("node:fs");
    const cg = (ctl: string, f: string) =>
      readFileSync(`/sys/fs/cgroup/${ctl}${cgroupPath}/${f}`, "utf8").trim();
    expect(cg("cpu", "cpu.cfs_quota_us")).to.equal("50000");
    expect(cg("memory", "memory.limit_in_bytes")).to.equal(String(100 * 1024 * 1024));

    // An update the kernel refuses (a cpuset this host does not have): an error, and the record
    // still says what the cgroup holds.
    let err: unknown;
    await c
      .UpdateContainerResources({
        container_id: ctrId,
        linux: {
          cpu_shares: "700",
          cpuset_cpus: "0-1023",
          memory_limit_in_bytes: String(90 * 1024 * 1024),
        },
      })
      .catch((e: unknown) => (err = e));
    expect(err, "the update fails").to.be.instanceOf(Error);
    const after = (await c.ContainerStatus({ container_id: ctrId })).status!.resources!.linux!;
    expect(after.cpu_shares).to.equal(cg("cpu", "cpu.shares"));
    expect(after.cpuset_cpus).to.equal(cg("cpuset", "cpuset.cpus"));
    expect(after.memory_limit_in_bytes).to.equal(cg("memory", "memory.limit_in_bytes"));
    expect(after.cpu_quota).to.equal(cg("cpu", "cpu.cfs_quota_us"));
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("graceful stop kills what the main process left in the container's cgroup", async () => {
    const c = env.berthd.client.call;
    const { podId, ctrId } = await runPodWith(
      env,
      "leftovers",
      ["/bin/sh", "-c", `i=0; while [ $i -lt 200 ]; do sleep 1000 & i=$((i+1)); done; wait`],
      SHARED_PID,
    );
    const { cgroupPath } = await containerInfo(env, ctrId);
    await eventually(async () => {
      expect(cgroupProcs(cgroupPath).length).to.be.at.least(201);
    }, 15_000);
    const forked = cgroupProcs(cgroupPath);
    await c.StopContainer({ container_id: ctrId, timeout: 2 });
    const st = (await c.ContainerStatus({ container_id: ctrId })).status!;
    expect(st.state).to.equal("CONTAINER_EXITED");
    expect(cgroupProcs(cgroupPath), "nothing left in the cgroup").to.deep.equal([]);
    expect(forked.filter(alive), "none of the forked sleeps").to.deep.equal([]);
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });
});
