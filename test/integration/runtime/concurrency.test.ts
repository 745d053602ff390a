// Calls that race each other or are given up by their client: a create racing the pod's
// removal, an image removed while a container is made from it, an ExecSync cancelled by its
// client, a retry of a create whose first call finished after the client's deadline.
import { promises as fs } from "node:fs";
import { expect } from "chai";
import { leftoversOf } from "../../support/leftovers.js";
import {
  containerConfig,
  eventually,
  podConfig,
  type PodEnv,
  startPodEnv,
} from "../../support/pod-env.js";

describe("concurrency and cancellation through the CRI", function () {
  this.timeout(300_000);
  let env: PodEnv;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
  });
  afterEach(function () {
    // A call that never returns ends in mocha's timeout, which names no call: berthd's last
    // lines say which one was under way.
    if (this.currentTest?.state === "failed" && env !== undefined) {
      console.log(
        `    berthd's last log lines:\n${env.berthd.logs.split("\n").slice(-40).join("\n")}`,
      );
    }
  });
  after(async () => {
    await env?.cleanup();
  });

  it("a CreateContainer racing RemovePodSandbox leaves no orphan container", async () => {
    const c = env.berthd.client.call;
    for (let round = 0; round < 6; round++) {
      const pod = podConfig(env, `race${round}`);
      const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
      const create = c
        .CreateContainer({
          pod_sandbox_id: podId,
          config: containerConfig(env, "racer", ["sleep", "600"]),
          sandbox_config: pod,
        })
        .then(
          (r) => r.container_id,
          () => undefined,
        );
      await new Promise((r) => setTimeout(r, 5 + round * 10));
      await c.StopPodSandbox({ pod_sandbox_id: podId });
      await c.RemovePodSandbox({ pod_sandbox_id: podId });
      const ctrId = await create;
      const pods = new Set((await c.ListPodSandbox({})).items.map((p) => p.id));
      const orphans = (await c.ListContainers({})).containers.filter(
        (x) => !pods.has(x.pod_sandbox_id),
      );
      expect(
        orphans.map((o) => o.id),
        `round ${round}`,
      ).to.deep.equal([]);
      expect(await leftoversOf(env, podId), `round ${round}`).to.deep.equal([]);
      if (ctrId !== undefined) {
        expect(await leftoversOf(env, ctrId), `round ${round}`).to.deep.equal([]);
      }
    }
  });

  /** Runs `fn` against berthd restarted with every create held 1.5 s before its record. */
  async function withCreatesHeld(
    fn: () => Promise<void>,
    delay = "create-container:1500",
  ): Promise<void> {
    await env.berthd.stop();
    process.env.BERTH_TEST_DELAY_AT = delay;
    try {
      await env.berthd.launch();
    } finally {
      delete process.env.BERTH_TEST_DELAY_AT;
    }
    try {
      await fn();
    } finally {
      await env.berthd.stop();
      await env.berthd.launch();
    }
  }

  const held = () =>
    eventually(async () => {
      if (!env.berthd.logs.includes("test delay point reached")) throw new Error("not yet");
    });

  it("a CreateContainer held after its runtime create, racing RemovePodSandbox, leaves no orphan", async () => {
    await withCreatesHeld(async () => {
      const c = env.berthd.client.call;
      const pod = podConfig(env, "held-race");
      const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
      const create = c
        .CreateContainer({
          pod_sandbox_id: podId,
          config: containerConfig(env, "held", ["sleep", "600"]),
          sandbox_config: pod,
        })
        .then(
          (r) => r.container_id,
          () => undefined,
        );
      await held();
      await c.StopPodSandbox({ pod_sandbox_id: podId });
      await c.RemovePodSandbox({ pod_sandbox_id: podId });
      const ctrId = await create;
      expect((await c.ListContainers({})).containers.map((x) => x.id)).to.deep.equal([]);
      expect(await leftoversOf(env, podId)).to.deep.equal([]);
      if (ctrId !== undefined) expect(await leftoversOf(env, ctrId)).to.deep.equal([]);
    });
  });

  it("RemoveImage while a container is created from it leaves the container its rootfs", async () => {
    await withCreatesHeld(async () => {
      const c = env.berthd.client.call;
      const pod = podConfig(env, "image-race");
      const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
      try {
        const create = c.CreateContainer({
          pod_sandbox_id: podId,
          config: containerConfig(env, "user", ["/bin/sh", "-c", "ls /bin/busybox"]),
          sandbox_config: pod,
        });
        await held();
        await c.RemoveImage({ image: { image: env.image } });
        expect((await c.ListImages({})).images.map((i) => i.id)).to.not.include(env.imageId);
        const { container_id: ctrId } = await create;
        // Every snapshot under the container's rootfs is still there.
        const mount = (await fs.readFile("/proc/self/mountinfo", "utf8"))
          .split("\n")
          .find((l) => l.includes(`/containers/${ctrId}/bundle/rootfs`));
        const lower = /lowerdir=([^,]+)/.exec(mount ?? "")?.[1]?.split(":") ?? [];
        expect(lower).to.not.deep.equal([]);
        for (const dir of lower) expect(await fs.readdir(dir), dir).to.not.deep.equal([]);
        await c.StartContainer({ container_id: ctrId });
        const st = await eventually(async () => {
          const s = (await c.ContainerStatus({ container_id: ctrId })).status!;
          expect(s.state).to.equal("CONTAINER_EXITED");
          return s;
        });
        expect([st.exit_code, st.reason]).to.deep.equal([0, "Completed"]);
        await c.RemoveContainer({ container_id: ctrId });
      } finally {
        await c.StopPodSandbox({ pod_sandbox_id: podId });
        await c.RemovePodSandbox({ pod_sandbox_id: podId });
        await c.PullImage({ image: { image: env.image } }); // for the tests after this one
      }
    });
  });

  it("an ExecSync with no timeout, cancelled by its client, ends its process", async () => {
    const c = env.berthd.client.call;
    const pod = podConfig(env, "exec-cancel");
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    const { container_id: ctrId } = await c.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(env, "exec", ["sleep", "600"]),
      sandbox_config: pod,
    });
    await c.StartContainer({ container_id: ctrId });
    const marker = `3600.${process.pid}`; // a sleep argument no other process has
    const sleeps = async () => {
      const out: string[] = [];
      for (const pid of await fs.readdir("/proc")) {
        if (!/^\d+$/.test(pid)) continue;
        const cmd = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        if (cmd === `sleep\0${marker}\0`) out.push(pid);
      }
      return out;
    };
    const call = c
      .ExecSync({ container_id: ctrId, cmd: ["sleep", marker], timeout: "0" }, { timeoutMs: 2000 })
      .then(
        () => "answered",
        (err: unknown) => (err as { code?: number }).code,
      );
    await eventually(async () => expect(await sleeps()).to.have.length(1), 10_000);
    expect(await call).to.equal(4); // DEADLINE_EXCEEDED, the client's
    await eventually(async () => expect(await sleeps()).to.deep.equal([]), 10_000);
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("kubelet's retry of a RunPodSandbox that outlived its deadline gets the pod it made", async () => {
    await withCreatesHeld(async () => {
      const c = env.berthd.client.call;
      const pod = podConfig(env, "late-pod");
      const code = (err: unknown) => (err as { code?: number }).code;
      // Finished late, retried after: the retry is answered with its id.
      const first = await c.RunPodSandbox({ config: pod }, { timeoutMs: 500 }).catch(code);
      expect(first).to.equal(4); // DEADLINE_EXCEEDED
      await new Promise((r) => setTimeout(r, 2500));
      const { pod_sandbox_id: id } = await c.RunPodSandbox({ config: pod });
      const pods = (await c.ListPodSandbox({})).items.filter(
        (p) => p.metadata?.name === "late-pod",
      );
      expect(pods.map((p) => p.id)).to.deep.equal([id]);
      // Once answered, the name is the pod's: another create of it is a conflict.
      expect(await c.RunPodSandbox({ config: pod }).catch(code)).to.equal(6); // ALREADY_EXISTS
      // Retried while the first still runs: the retry waits for it.
      const pod2 = podConfig(env, "late-pod2");
      expect(await c.RunPodSandbox({ config: pod2 }, { timeoutMs: 500 }).catch(code)).to.equal(4);
      const { pod_sandbox_id: id2 } = await c.RunPodSandbox({ config: pod2 });
      const pods2 = (await c.ListPodSandbox({})).items.filter(
        (p) => p.metadata?.name === "late-pod2",
      );
      expect(pods2.map((p) => p.id)).to.deep.equal([id2]);
      for (const x of [id, id2]) {
        await c.StopPodSandbox({ pod_sandbox_id: x });
        await c.RemovePodSandbox({ pod_sandbox_id: x });
      }
    }, "run-pod-sandbox:1500");
  });

  it("kubelet's retry of a CreateContainer that outlived its deadline gets the container it made", async () => {
    await withCreatesHeld(async () => {
      const c = env.berthd.client.call;
      const pod = podConfig(env, "late-ctr");
      const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
      const req = {
        pod_sandbox_id: podId,
        config: containerConfig(env, "late", ["sleep", "600"]),
        sandbox_config: pod,
      };
      const code = (err: unknown) => (err as { code?: number }).code;
      expect(await c.CreateContainer(req, { timeoutMs: 500 }).catch(code)).to.equal(4);
      await new Promise((r) => setTimeout(r, 2500));
      const { container_id: id } = await c.CreateContainer(req);
      expect((await c.ListContainers({})).containers.map((x) => x.id)).to.deep.equal([id]);
      await c.StopPodSandbox({ pod_sandbox_id: podId });
      await c.RemovePodSandbox({ pod_sandbox_id: podId });
    });
  });
});
