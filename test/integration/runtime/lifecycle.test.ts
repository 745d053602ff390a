// A pod and a busybox container through the whole CRI lifecycle on the real runtime, conmon,
// overlayfs and CNI, as kubelet drives it.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { parseCriLog } from "../../../src/runtime/oci/cri-log.js";
import {
  containerConfig,
  eventually,
  podConfig,
  type PodEnv,
  runPodWith,
  startPodEnv,
} from "../../support/pod-env.js";

describe("pod and container lifecycle (runc, conmon, overlayfs, CNI)", function () {
  this.timeout(120_000);
  let env: PodEnv;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
  });
  after(async () => {
    await env?.cleanup();
  });

  it("runs a pod: READY, IP in the subnet, labels and annotations echoed", async () => {
    const c = env.berthd.client.call;
    const pod = podConfig(env, "ready");
    const { pod_sandbox_id: id } = await c.RunPodSandbox({ config: pod });
    expect(id).to.match(/^[0-9a-f]{64}$/);
    const st = await c.PodSandboxStatus({ pod_sandbox_id: id.slice(0, 12) });
    expect(st.status!.state).to.equal("SANDBOX_READY");
    expect(BigInt(st.status!.created_at) > 0n).to.equal(true);
    expect(st.status!.labels).to.deep.equal(pod.labels);
    expect(st.status!.annotations).to.deep.equal(pod.annotations);
    expect(st.status!.metadata).to.deep.include({ name: "ready", namespace: "berth-test" });
    const prefix = env.subnet.split(".").slice(0, 3).join(".") + ".";
    expect(st.status!.network!.ip.startsWith(prefix), st.status!.network!.ip).to.equal(true);
    expect(st.status!.linux!.namespaces!.options!.network).to.equal("POD");
    const list = await c.ListPodSandbox({ filter: { label_selector: { app: "ready" } } });
    expect(list.items.map((p) => p.id)).to.deep.equal([id]);
    await c.StopPodSandbox({ pod_sandbox_id: id });
    const stopped = await c.PodSandboxStatus({ pod_sandbox_id: id });
    expect(stopped.status!.state).to.equal("SANDBOX_NOTREADY");
    await c.StopPodSandbox({ pod_sandbox_id: id });
    await c.RemovePodSandbox({ pod_sandbox_id: id });
    await c.RemovePodSandbox({ pod_sandbox_id: id });
    try {
      await c.PodSandboxStatus({ pod_sandbox_id: id });
      expect.fail("removed pod still has a status");
    } catch (err) {
      expect((err as { code: number }).code).to.equal(status.NOT_FOUND);
    }
  });

  it("creates, starts, logs both streams in CRI format, exits with code and reason", async () => {
    const c = env.berthd.client.call;
    const { podId, ctrId, pod } = await runPodWith(env, "exit3", [
      "/bin/sh",
      "-c",
      "echo to-out; echo to-err >&2; exit 3",
    ]);
    const st = await eventually(async () => {
      const s = await c.ContainerStatus({ container_id: ctrId });
      expect(s.status!.state).to.equal("CONTAINER_EXITED");
      return s.status!;
    });
    expect(st.exit_code).to.equal(3);
    expect(st.reason).to.equal("Error");
    expect(BigInt(st.started_at) > 0n).to.equal(true);
    expect(BigInt(st.finished_at) >= BigInt(st.started_at)).to.equal(true);
    expect(st.image_id).to.equal(env.imageId);
    expect(st.image!.user_specified_image).to.equal(env.image);
    expect(st.log_path).to.equal(path.join(pod.log_directory!, "exit3.log"));
    const entries = parseCriLog(await fs.readFile(st.log_path, "utf8"));
    expect(entries.map((e) => [e.stream, e.content, e.partial])).to.deep.include.members([
      ["stdout", "to-out", false],
      ["stderr", "to-err", false],
    ]);
    const listed = await c.ListContainers({ filter: { pod_sandbox_id: podId } });
    expect(listed.containers.map((x) => x.id)).to.deep.equal([ctrId]);
    expect(listed.containers[0]!.image_id).to.equal(env.imageId);
    await c.RemoveContainer({ container_id: ctrId });
    await c.RemoveContainer({ container_id: ctrId });
    expect(
      (await c.ListContainers({ filter: { pod_sandbox_id: podId } })).containers,
    ).to.deep.equal([]);
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("StopPodSandbox kills its containers and releases their runtime state and rootfs; logs stay", async () => {
    const c = env.berthd.client.call;
    const { podId, ctrId } = await runPodWith(env, "released", [
      "/bin/sh",
      "-c",
      "echo up; exec sleep 600",
    ]);
    const info = JSON.parse(
      (await c.ContainerStatus({ container_id: ctrId, verbose: true })).info["info"]!,
    ) as { bundle: string; runtimeHandler: string };
    const rootfs = path.join(info.bundle, "rootfs");
    const runtimeState = path.join(env.berthd.state, "runtimes", info.runtimeHandler, ctrId);
    const mounted = async () =>
      (await fs.readFile("/proc/self/mountinfo", "utf8"))
        .split("\n")
        .some((l) => l.split(" ")[4] === rootfs);
    const present = (p: string) =>
      fs.access(p).then(
        () => true,
        () => false,
      );
    expect([await mounted(), await present(runtimeState)]).to.deep.equal([true, true]);
    await eventually(async () => {
      const st = (await c.ContainerStatus({ container_id: ctrId })).status!;
      expect(parseCriLog(await fs.readFile(st.log_path, "utf8")).map((e) => e.content)).to.include(
        "up",
      );
    });
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    // As containerd deletes a task when it exits: the runtime's state and the rootfs mount
    // are gone; the record, the log and the container's files stay for RemoveContainer.
    const st = (await c.ContainerStatus({ container_id: ctrId })).status!;
    expect([st.state, st.exit_code]).to.deep.equal(["CONTAINER_EXITED", 137]);
    expect([await mounted(), await present(runtimeState)]).to.deep.equal([false, false]);
    expect(await present(info.bundle)).to.equal(true);
    expect(parseCriLog(await fs.readFile(st.log_path, "utf8")).map((e) => e.content)).to.include(
      "up",
    );
    await c.RemoveContainer({ container_id: ctrId });
    expect(await present(info.bundle)).to.equal(false);
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("stops a container that ignores SIGTERM by killing it after the timeout", async () => {
    const c = env.berthd.client.call;
    const { podId, ctrId } = await runPodWith(env, "stubborn", [
      "/bin/sh",
      "-c",
      "trap '' TERM; echo up; while true; do sleep 1; done",
    ]);
    await eventually(async () => {
      expect((await c.ContainerStatus({ container_id: ctrId })).status!.state).to.equal(
        "CONTAINER_RUNNING",
      );
    });
    const t0 = Date.now();
    await c.StopContainer({ container_id: ctrId, timeout: 2 });
    const took = Date.now() - t0;
    expect(took).to.be.at.least(1900);
    const st = (await c.ContainerStatus({ container_id: ctrId })).status!;
    expect(st.state).to.equal("CONTAINER_EXITED");
    expect(st.exit_code).to.equal(137);
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("a container that handles SIGTERM exits with its own code within the timeout", async () => {
    const c = env.berthd.client.call;
    const { podId, ctrId } = await runPodWith(env, "polite", [
      "/bin/sh",
      "-c",
      "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    await eventually(async () => {
      expect((await c.ContainerStatus({ container_id: ctrId })).status!.state).to.equal(
        "CONTAINER_RUNNING",
      );
    });
    await c.StopContainer({ container_id: ctrId, timeout: 10 });
    const st = (await c.ContainerStatus({ container_id: ctrId })).status!;
    expect(st.exit_code).to.equal(0);
    expect(st.reason).to.equal("Completed");
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("rejects a second container with the same name, naming the holder", async () => {
    const c = env.berthd.client.call;
    const { podId, ctrId, pod } = await runPodWith(env, "dup", ["/bin/sleep", "60"]);
    try {
      await c.CreateContainer({
        pod_sandbox_id: podId,
        config: containerConfig(env, "dup", ["/bin/sleep", "60"]),
        sandbox_config: pod,
      });
      expect.fail("duplicate name accepted");
    } catch (err) {
      const e = err as { code: number; details: string };
      expect(e.code).to.equal(status.ALREADY_EXISTS);
      expect(e.details).to.include(ctrId);
    }
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("ExecSync returns output and exit code and honours its timeout", async () => {
    const c = env.berthd.client.call;
    const { podId, ctrId } = await runPodWith(env, "exec", ["/bin/sleep", "600"]);
    await eventually(async () => {
      expect((await c.ContainerStatus({ container_id: ctrId })).status!.state).to.equal(
        "CONTAINER_RUNNING",
      );
    });
    const r = await c.ExecSync({
      container_id: ctrId,
      cmd: ["/bin/sh", "-c", "echo hi; echo oops >&2; exit 4"],
      timeout: 10,
    });
    expect(r.stdout.toString()).to.equal("hi\n");
    expect(r.stderr.toString()).to.equal("oops\n");
    expect(r.exit_code).to.equal(4);
    const t0 = Date.now();
    try {
      await c.ExecSync({ container_id: ctrId, cmd: ["/bin/sleep", "30"], timeout: 1 });
      expect.fail("timeout not honoured");
    } catch (err) {
      expect((err as { code: number }).code).to.equal(status.DEADLINE_EXCEEDED);
    }
    expect(Date.now() - t0).to.be.below(10_000);
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("errors: unknown ids NOT_FOUND, missing fields INVALID_ARGUMENT, unknown handler", async () => {
    const c = env.berthd.client.call;
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => -1,
        (e: { code: number }) => e.code,
      );
    expect(await code(c.ContainerStatus({ container_id: "f".repeat(64) }))).to.equal(
      status.NOT_FOUND,
    );
    expect(await code(c.StartContainer({ container_id: "deadbeef" }))).to.equal(status.NOT_FOUND);
    expect(await code(c.StopContainer({ container_id: "deadbeef" }))).to.equal(-1);
    expect(await code(c.RemoveContainer({ container_id: "deadbeef" }))).to.equal(-1);
    expect(await code(c.StopPodSandbox({ pod_sandbox_id: "deadbeef" }))).to.equal(-1);
    expect(await code(c.RemovePodSandbox({ pod_sandbox_id: "deadbeef" }))).to.equal(-1);
    expect(await code(c.RunPodSandbox({ config: { metadata: { name: "x" } } }))).to.equal(
      status.INVALID_ARGUMENT,
    );
    expect(
      await code(c.RunPodSandbox({ config: podConfig(env, "h"), runtime_handler: "kata" })),
    ).to.equal(status.INVALID_ARGUMENT);
    expect(await code(c.ExecSync({ container_id: "deadbeef", cmd: ["true"] }))).to.equal(
      status.NOT_FOUND,
    );
  });
});
