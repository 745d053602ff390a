// GetContainerEvents (kubelet's Evented PLEG): every lifecycle step of sandboxes and containers
// arrives on the stream, with the pod's status and its containers' statuses.
import { expect } from "chai";
import type { ContainerEventResponse__Output } from "../../../src/gen/runtime/v1/ContainerEventResponse.js";
import { eventually, type PodEnv, runPodWith, startPodEnv } from "../../support/pod-env.js";

describe("GetContainerEvents", function () {
  this.timeout(60_000);
  let env: PodEnv;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
  });
  after(async () => {
    await env?.cleanup();
  });

  it("streams created, started, stopped and deleted for the sandbox and its container", async () => {
    const events: ContainerEventResponse__Output[] = [];
    const errors: Error[] = [];
    const cancel = env.berthd.client.watch(
      "GetContainerEvents",
      {},
      (e) => events.push(e),
      (e) => errors.push(e),
    );
    try {
      await new Promise((r) => setTimeout(r, 200));
      const c = env.berthd.client.call;
      const { podId, ctrId } = await runPodWith(env, "events", ["/bin/sh", "-c", "exit 2"]);
      await eventually(async () => {
        expect((await c.ContainerStatus({ container_id: ctrId })).status!.state).to.equal(
          "CONTAINER_EXITED",
        );
      });
      await c.RemoveContainer({ container_id: ctrId });
      await c.StopPodSandbox({ pod_sandbox_id: podId });
      await c.RemovePodSandbox({ pod_sandbox_id: podId });
      await eventually(async () => {
        expect(events.length).to.be.at.least(8);
      });
      const seq = events.map(
        (e) => `${e.container_id === podId ? "pod" : "ctr"}:${e.container_event_type}`,
      );
      expect(seq).to.deep.equal([
        "pod:CONTAINER_CREATED_EVENT",
        "pod:CONTAINER_STARTED_EVENT",
        "ctr:CONTAINER_CREATED_EVENT",
        "ctr:CONTAINER_STARTED_EVENT",
        "ctr:CONTAINER_STOPPED_EVENT",
        "ctr:CONTAINER_DELETED_EVENT",
        "pod:CONTAINER_STOPPED_EVENT",
        "pod:CONTAINER_DELETED_EVENT",
      ]);
      const stopped = events[4]!;
      expect(stopped.pod_sandbox_status!.id).to.equal(podId);
      expect(stopped.containers_statuses.map((s) => [s.id, s.state, s.exit_code])).to.deep.equal([
        [ctrId, "CONTAINER_EXITED", 2],
      ]);
      for (let i = 1; i < events.length; i++) {
        expect(BigInt(events[i]!.created_at) >= BigInt(events[i - 1]!.created_at)).to.equal(true);
      }
      expect(events[7]!.pod_sandbox_status).to.equal(null);
      expect(errors).to.deep.equal([]);
    } finally {
      cancel();
    }
  });
});
