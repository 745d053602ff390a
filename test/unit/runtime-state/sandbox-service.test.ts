// SandboxService over fakes (service-fakes.ts): RunPodSandbox makes the netns, network, files
// and the infra under conmon, and records a READY pod; a failed network setup undoes what was
// made; StopPodSandbox kills the infra, releases the network once and is safe to repeat;
// RemovePodSandbox leaves nothing behind.
import { expect } from "chai";
import { access, readdir } from "node:fs/promises";
import * as path from "node:path";
import { sandboxReady, sandboxState, sandboxStopped } from "../../../src/runtime/records.js";
import { sandboxConfig } from "../runtime-spec/fixtures.js";
import { type Harness, fakePodContainers, harness } from "./service-fakes.js";

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe("services: SandboxService with fakes", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  // No cgroup_parent: the systemd driver makes its own slice name (see service-fakes.ts).
  const config = () =>
    sandboxConfig({
      log_directory: path.join(h.dir, "logs"),
      linux: {
        cgroup_parent: "",
        security_context: sandboxConfig().linux!.security_context,
        sysctls: {},
        overhead: null,
        resources: null,
      },
    });

  it("runs a pod: netns, CNI ADD, infra created and started, a READY record", async () => {
    const id = await h.sandboxes.run(config(), "");
    const rec = h.deps.sandboxes.get(id)!;
    expect(sandboxState(rec)).to.equal("SANDBOX_READY");
    expect(rec.ips).to.deep.equal([h.cni.attached.get(id)]);
    expect([rec.networkAttached, rec.infraPid, rec.createdAt > 0n]).to.deep.equal([
      true,
      process.pid,
      true,
    ]);
    expect(await exists(rec.netnsPath)).to.equal(true);
    expect(h.launcher.launched).to.deep.equal([id]);
    expect((await h.runtime.state(id))?.status).to.equal("running");
    expect(h.runner.calls.some((c) => c.startsWith("unshare --net="))).to.equal(true);
    // Each step's time went to berth_operation_step_seconds, in the order the steps ran.
    expect(h.stepsSeen.filter((s) => s.startsWith("RunPodSandbox/"))).to.deep.equal(
      [
        "validate",
        "pod-files",
        "netns",
        "network",
        "spec",
        "create",
        "start",
        "record",
        "rest",
      ].map((s) => `RunPodSandbox/${s}`),
    );
    // The name is taken: the same pod again is refused until this one is removed.
    let again: unknown;
    await h.sandboxes.run(config(), "").catch((err: unknown) => (again = err));
    expect(String(again)).to.match(/reserved|already/i);
  });

  it("undoes everything when the network setup fails", async () => {
    h.cni.failSetup = "no IP addresses available";
    let failure: unknown;
    await h.sandboxes.run(config(), "").catch((err: unknown) => (failure = err));
    expect(String(failure)).to.contain("no IP addresses available");
    expect(h.deps.sandboxes.size).to.equal(0);
    expect(h.launcher.launched).to.deep.equal([]);
    expect(await readdir(h.deps.paths.netnsDir)).to.deep.equal([]);
    expect(await readdir(path.join(h.deps.paths.state, "pods"))).to.deep.equal([]);
    // The name was released: a retry succeeds once the network works.
    h.cni.failSetup = undefined;
    const id = await h.sandboxes.run(config(), "");
    expect(sandboxReady(h.deps.sandboxes.get(id)!)).to.equal(true);
  });

  it("stops a pod once: infra killed, CNI DEL once, NOTREADY; a second stop changes nothing", async () => {
    const id = await h.sandboxes.run(config(), "");
    const netns = h.deps.sandboxes.get(id)!.netnsPath;
    const pod = fakePodContainers();
    await h.sandboxes.stop(id, pod);
    const rec = h.deps.sandboxes.get(id)!;
    expect([sandboxState(rec), sandboxStopped(rec), rec.networkAttached]).to.deep.equal([
      "SANDBOX_NOTREADY",
      true,
      false,
    ]);
    expect(rec.infraExitedAt > 0n).to.equal(true);
    expect(rec.ips).to.deep.equal([]);
    expect(h.cni.deleted).to.deep.equal([id]);
    expect(await exists(netns)).to.equal(false);
    expect(h.runtime.calls.filter((c) => c.startsWith("kill"))).to.deep.equal([
      `kill ${id} SIGKILL --all`,
    ]);

    await h.sandboxes.stop(id, pod);
    const after = h.deps.sandboxes.get(id)!;
    expect(after.stoppedAt).to.equal(rec.stoppedAt);
    expect(h.cni.deleted).to.deep.equal([id]);
    expect(h.runtime.calls.filter((c) => c.startsWith("kill")).length).to.equal(1);
    expect(pod.calls).to.deep.equal([`kill ${id}`, `release ${id}`, `kill ${id}`, `release ${id}`]);
    // Its own stop is no news: no CONTAINER_STOPPED_EVENT from the service.
    await h.settle();
    expect(h.events.filter((e) => e.type === "CONTAINER_STOPPED_EVENT")).to.deep.equal([]);
    // Unknown ids stop (and remove) fine.
    await h.sandboxes.stop("feedbeef", pod);
  });

  it("an infra that dies on its own makes the pod NOTREADY and is published once", async () => {
    const id = await h.sandboxes.run(config(), "");
    await h.runtime.kill(id, "SIGKILL");
    await h.settle();
    expect(sandboxState(h.deps.sandboxes.get(id)!)).to.equal("SANDBOX_NOTREADY");
    expect(
      h.events.filter((e) => e.type === "CONTAINER_STOPPED_EVENT").map((e) => e.id),
    ).to.deep.equal([id]);
  });

  it("removes a pod (stopping it first): record, name, runtime state, pod dir all gone", async () => {
    const id = await h.sandboxes.run(config(), "");
    const pod = fakePodContainers();
    await h.sandboxes.remove(id, pod);
    expect(h.deps.sandboxes.get(id)).to.equal(undefined);
    expect(pod.calls).to.deep.equal([`kill ${id}`, `release ${id}`, `remove ${id}`]);
    expect(h.cni.deleted).to.deep.equal([id]);
    expect(await h.runtime.state(id)).to.equal(undefined);
    expect(await exists(h.deps.paths.pod(id))).to.equal(false);
    // The name is free again.
    const second = await h.sandboxes.run(config(), "");
    expect(second).to.not.equal(id);
    await h.sandboxes.remove("feedbeef", fakePodContainers());
  });
});
