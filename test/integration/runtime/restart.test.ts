// berthd killed with SIGKILL and started again: running containers keep running, exits that
// happened while it was down are recorded with their codes, and everything can still be
// stopped and removed — nothing lost, nothing leaked.
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { CniRunner } from "../../../src/network/cni-runner.js";
import { createNetns } from "../../../src/network/netns.js";
import { silentLogger } from "../../../src/log.js";
import { RuntimePaths } from "../../../src/runtime/paths.js";
import { ProcessRunner } from "../../../src/util/command.js";
import { parseCriLog } from "../../../src/runtime/oci/cri-log.js";
import {
  containerConfig,
  eventually,
  podConfig,
  type PodEnv,
  startPodEnv,
} from "../../support/pod-env.js";
import { mountPoints } from "../../../src/util/mountinfo.js";

function mountsUnder(dir: string): string[] {
  return mountPoints(execFileSync("cat", ["/proc/self/mountinfo"], { encoding: "utf8" })).filter(
    (mp) => mp.startsWith(dir),
  );
}

describe("berthd restart (kill -9) keeps every pod and container", function () {
  this.timeout(120_000);
  let env: PodEnv;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
  });
  after(async () => {
    await env?.cleanup();
  });

  it("running, exited, and exited-while-down containers all report the right state afterwards", async () => {
    let c = env.berthd.client.call;
    const pod = podConfig(env, "restart");
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    const ipBefore = (await c.PodSandboxStatus({ pod_sandbox_id: podId })).status!.network!.ip;
    const create = async (name: string, cmd: string[]) => {
      const { container_id } = await c.CreateContainer({
        pod_sandbox_id: podId,
        config: containerConfig(env, name, cmd),
        sandbox_config: pod,
      });
      await c.StartContainer({ container_id });
      return container_id;
    };
    const running = await create("runner", ["/bin/sh", "-c", "echo started; exec sleep 600"]);
    const exited = await create("quitter", ["/bin/sh", "-c", "echo bye; exit 5"]);
    const late = await create("late", [
      "/bin/sh",
      "-c",
      "echo waiting; sleep 3; echo late; exit 7",
    ]);
    await eventually(async () => {
      expect((await c.ContainerStatus({ container_id: exited })).status!.state).to.equal(
        "CONTAINER_EXITED",
      );
      expect((await c.ContainerStatus({ container_id: running })).status!.state).to.equal(
        "CONTAINER_RUNNING",
      );
    });
    const runningPid = (
      JSON.parse(
        (await c.ContainerStatus({ container_id: running, verbose: true })).info.info!,
      ) as { pid: number }
    ).pid;

    await env.berthd.kill9();
    // `late` exits while berthd is down; conmon records it.
    await new Promise((r) => setTimeout(r, 4500));
    process.kill(runningPid, 0); // still alive without berthd
    await env.berthd.launch();
    c = env.berthd.client.call;

    const st = async (id: string) => (await c.ContainerStatus({ container_id: id })).status!;
    expect((await st(running)).state).to.equal("CONTAINER_RUNNING");
    const e = await st(exited);
    expect([e.state, e.exit_code, e.reason]).to.deep.equal(["CONTAINER_EXITED", 5, "Error"]);
    const l = await st(late);
    expect([l.state, l.exit_code, l.reason]).to.deep.equal(["CONTAINER_EXITED", 7, "Error"]);
    expect(BigInt(l.finished_at) > BigInt(l.started_at)).to.equal(true);
    const lateLog = parseCriLog(await fs.readFile(l.log_path, "utf8")).map((x) => x.content);
    expect(lateLog).to.deep.equal(["waiting", "late"]);

    const podSt = (await c.PodSandboxStatus({ pod_sandbox_id: podId })).status!;
    expect(podSt.state).to.equal("SANDBOX_READY");
    expect(podSt.network!.ip).to.equal(ipBefore);
    expect((await c.ListContainers({})).containers.map((x) => x.id).sort()).to.deep.equal(
      [running, exited, late].sort(),
    );

    // The running one is still monitored: a stop records its exit.
    await c.StopContainer({ container_id: running, timeout: 1 });
    expect((await st(running)).state).to.equal("CONTAINER_EXITED");
    for (const id of [running, exited, late]) await c.RemoveContainer({ container_id: id });
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
    expect(mountsUnder(env.berthd.dir)).to.deep.equal([]);
    await fs.access(`/sys/fs/cgroup/memory/berth/${podId}`).then(
      () => expect.fail("pod cgroup left behind"),
      () => undefined,
    );
  });

  it("a container created but not started before the crash can still be started", async () => {
    let c = env.berthd.client.call;
    const pod = podConfig(env, "created");
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    const { container_id: id } = await c.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(env, "later", ["/bin/sh", "-c", "echo after-restart"]),
      sandbox_config: pod,
    });
    await env.berthd.kill9();
    await env.berthd.launch();
    c = env.berthd.client.call;
    expect((await c.ContainerStatus({ container_id: id })).status!.state).to.equal(
      "CONTAINER_CREATED",
    );
    await c.StartContainer({ container_id: id });
    const done = await eventually(async () => {
      const s = (await c.ContainerStatus({ container_id: id })).status!;
      expect(s.state).to.equal("CONTAINER_EXITED");
      return s;
    });
    expect(done.exit_code).to.equal(0);
    expect(done.reason).to.equal("Completed");
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("removes what a RunPodSandbox cut short by a crash left behind (shm, netns, CNI attachment)", async () => {
    const id = "e".repeat(64);
    const podDir = path.join(env.berthd.state, "pods", id);
    const shm = path.join(podDir, "shm");
    await fs.mkdir(shm, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "shm", shm]);
    const runner = new ProcessRunner();
    const netns = await createNetns(
      runner,
      path.join(env.berthd.state, "netns"),
      RuntimePaths.netnsName(id),
    );
    // The crash came after CNI ADD: an IP, a veth and a cached result exist for the pod.
    const cni = new CniRunner({
      runner,
      logger: silentLogger(),
      confDirs: [path.join(env.berthd.root, "cni", "net.d")],
      pluginDirs: ["/usr/lib/cni"],
      cacheDir: path.join(env.berthd.state, "cni", "results"),
    });
    const attached = await cni.setupPodNetwork({
      podName: "orphan",
      namespace: "berth-test",
      uid: "u1",
      sandboxId: id,
      netnsPath: netns,
    });
    const ip = attached.ips[0]!;
    const reservation = path.join(env.berthd.root, "cni", "networks", "berth", ip);
    await fs.access(reservation);
    const vethsBefore = execFileSync("ip", ["-o", "link", "show", "master", env.bridge], {
      encoding: "utf8",
    });
    expect(vethsBefore).to.match(/veth/);
    await env.berthd.kill9();
    await env.berthd.launch();
    expect(await cni.attachedSandboxIds()).to.not.include(id);
    await fs.access(reservation).then(
      () => expect.fail(`IP ${ip} still reserved`),
      () => undefined,
    );
    expect(
      execFileSync("ip", ["-o", "link", "show", "master", env.bridge], { encoding: "utf8" }),
    ).to.equal("");
    expect(mountsUnder(podDir)).to.deep.equal([]);
    expect(mountsUnder(netns)).to.deep.equal([]);
    await fs.access(podDir).then(
      () => expect.fail("orphaned pod dir kept"),
      () => undefined,
    );
    await fs.access(netns).then(
      () => expect.fail("orphaned netns kept"),
      () => undefined,
    );
  });

  it("a pod whose infra died while berthd was down comes back NOTREADY and can be removed", async () => {
    let c = env.berthd.client.call;
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({
      // pid: POD: the pod has an infra process (drop_infra_ctr leaves the others without one).
      config: podConfig(env, "infra-dies", {
        linux: {
          security_context: { namespace_options: { network: "POD", pid: "POD", ipc: "POD" } },
        },
      }),
    });
    const info = JSON.parse(
      (await c.PodSandboxStatus({ pod_sandbox_id: podId, verbose: true })).info.info!,
    ) as {
      pid: number;
    };
    expect(info.pid).to.be.greaterThan(0); // never kill(0): that is this process group
    await env.berthd.kill9();
    process.kill(info.pid, "SIGKILL"); // the infra berth started for this pod
    await eventually(async () => {
      expect(() => process.kill(info.pid, 0)).to.throw();
    });
    await env.berthd.launch();
    c = env.berthd.client.call;
    expect((await c.PodSandboxStatus({ pod_sandbox_id: podId })).status!.state).to.equal(
      "SANDBOX_NOTREADY",
    );
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
    expect((await c.ListPodSandbox({})).items.map((p) => p.id)).to.not.include(podId);
  });
});
