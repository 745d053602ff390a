// Chaos suite, deterministic part: for each step of the pod and container lifecycle berthd is
// killed with SIGKILL exactly there (BERTH_TEST_PAUSE_AT, src/util/test-pause.ts), restarted,
// and then every object must agree with reality, be stoppable and removable, and leave nothing.
import { expect } from "chai";
import { containerConfig, podConfig, type PodEnv, startPodEnv } from "../../support/pod-env.js";
import {
  assertConsistent,
  assertNothingLeft,
  removeEverything,
  type Seen,
} from "./chaos-checks.js";
import { crashDuring, relaunch, removeSeenCgroups } from "./chaos-env.js";

describe("chaos: kill -9 at each lifecycle step", function () {
  this.timeout(90_000);
  let env: PodEnv;
  const seen: Seen = { pods: new Set(), containers: new Set() };
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
  });
  after(async () => {
    if (!env) return;
    await env.cleanup();
    await removeSeenCgroups(seen);
  });

  /** A pod, and a container in it (created; started when asked). */
  async function podWith(
    name: string,
    ctr?: { start: boolean; cmd?: string[] },
  ): Promise<{ podId: string; ctrId: string }> {
    const c = env.berthd.client.call;
    const pod = podConfig(env, name);
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    seen.pods.add(podId);
    if (!ctr) return { podId, ctrId: "" };
    const { container_id: ctrId } = await c.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(env, "w", ctr.cmd ?? ["sleep", "600"]),
      sandbox_config: pod,
    });
    seen.containers.add(ctrId);
    if (ctr.start) await c.StartContainer({ container_id: ctrId });
    return { podId, ctrId };
  }

  async function settle(): Promise<void> {
    await assertConsistent(env);
    await removeEverything(env);
    await assertNothingLeft(env, seen);
  }

  it("RunPodSandbox", async () => {
    await relaunch(env, "run-pod-sandbox");
    await crashDuring(env, seen, () =>
      env.berthd.client.call.RunPodSandbox({ config: podConfig(env, "chaos-runp") }),
    );
    await settle();
  });

  it("RunPodSandbox of a pod without an infra: its namespaces pinned, no network yet", async () => {
    await relaunch(env, "sandbox-namespaces");
    await crashDuring(env, seen, () =>
      env.berthd.client.call.RunPodSandbox({ config: podConfig(env, "chaos-pinned") }),
    );
    await settle();
  });

  it("RunPodSandbox of a pod with an infra (pid: POD): its infra created, not started", async () => {
    await relaunch(env, "sandbox-created");
    const pod = podConfig(env, "chaos-infra", {
      linux: {
        security_context: { namespace_options: { network: "POD", pid: "POD", ipc: "POD" } },
      },
    });
    await crashDuring(env, seen, () => env.berthd.client.call.RunPodSandbox({ config: pod }));
    await settle();
  });

  it("CreateContainer", async () => {
    await relaunch(env, "create-container");
    const c = env.berthd.client.call;
    const pod = podConfig(env, "chaos-create");
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    seen.pods.add(podId);
    await crashDuring(env, seen, () =>
      c.CreateContainer({
        pod_sandbox_id: podId,
        config: containerConfig(env, "w", ["sleep", "600"]),
        sandbox_config: pod,
      }),
    );
    await settle();
  });

  it("StartContainer: the started process is RUNNING, not CREATED, and runs once", async () => {
    await relaunch(env, "start-container");
    const { ctrId } = await podWith("chaos-start", { start: false });
    await crashDuring(env, seen, () =>
      env.berthd.client.call.StartContainer({ container_id: ctrId }),
    );
    const st = await env.berthd.client.call.ContainerStatus({ container_id: ctrId });
    expect(st.status!.state).to.equal("CONTAINER_RUNNING");
    await settle();
  });

  it("StopContainer: an exit while berthd is down is recorded with its code", async () => {
    await relaunch(env, "stop-container");
    const { ctrId } = await podWith("chaos-stop", {
      start: true,
      cmd: ["/bin/sh", "-c", "trap 'exit 3' TERM; sleep 600 & wait"],
    });
    await new Promise((r) => setTimeout(r, 300)); // the trap is set
    await crashDuring(env, seen, () =>
      env.berthd.client.call.StopContainer({ container_id: ctrId, timeout: 10 }),
    );
    const st = (await env.berthd.client.call.ContainerStatus({ container_id: ctrId })).status!;
    expect([st.state, st.exit_code]).to.deep.equal(["CONTAINER_EXITED", 3]);
    await settle();
  });

  it("RemoveContainer", async () => {
    await relaunch(env, "remove-container");
    const { ctrId } = await podWith("chaos-rm", { start: true, cmd: ["/bin/sh", "-c", "exit 4"] });
    const c = env.berthd.client.call;
    await c.StopContainer({ container_id: ctrId, timeout: 1 });
    await crashDuring(env, seen, () => c.RemoveContainer({ container_id: ctrId }));
    await settle();
  });

  it("StopPodSandbox", async () => {
    await relaunch(env, "stop-pod-sandbox");
    const { podId } = await podWith("chaos-stopp", { start: true });
    await crashDuring(env, seen, () =>
      env.berthd.client.call.StopPodSandbox({ pod_sandbox_id: podId }),
    );
    const st = await env.berthd.client.call.PodSandboxStatus({ pod_sandbox_id: podId });
    expect(st.status!.state).to.equal("SANDBOX_NOTREADY");
    await settle();
  });

  it("StopPodSandbox, its pod's namespaces released, CNI DEL not yet run", async () => {
    await relaunch(env, "stop-pod-network");
    const { podId } = await podWith("chaos-stopnet", { start: true });
    await crashDuring(env, seen, () =>
      env.berthd.client.call.StopPodSandbox({ pod_sandbox_id: podId }),
    );
    const st = await env.berthd.client.call.PodSandboxStatus({ pod_sandbox_id: podId });
    expect(st.status!.state).to.equal("SANDBOX_NOTREADY");
    // The address and the masquerade are still held: the StopPodSandbox that settle() sends
    // gives them back (CNI DEL without the netns), and assertNothingLeft checks both.
    await settle();
  });

  it("RemovePodSandbox", async () => {
    await relaunch(env, "remove-pod-sandbox");
    const { podId } = await podWith("chaos-rmp", { start: true });
    const c = env.berthd.client.call;
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await crashDuring(env, seen, () => c.RemovePodSandbox({ pod_sandbox_id: podId }));
    await settle();
  });
});
