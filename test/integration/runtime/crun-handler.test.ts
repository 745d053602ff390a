// A pod and a container on the crun handler through the CRI, where crun can run containers. On
// this hybrid cgroup host crun 1.8 can once hugetlb leaves cgroup2 for a v1 hierarchy; the test
// makes that move (as the conformance kit's HANDLER=crun does) under the kit's lock and gives
// hugetlb back afterwards. Where the host keeps crun out (cgroup2 still holds a controller), the
// test skips with the reason Status gives; where it lets crun in, crun must work.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import { expect } from "chai";
import type { PodSandboxConfig } from "../../../src/gen/runtime/v1/PodSandboxConfig.js";
import { parseCriLog } from "../../../src/runtime/oci/cri-log.js";
import {
  containerConfig,
  eventually,
  podConfig,
  type PodEnv,
  startPodEnv,
} from "../../support/pod-env.js";
import {
  type HugetlbMove,
  moveHugetlbToV1,
  takeCritestLock,
  unifiedControllers,
} from "../../support/hugetlb-v1.js";
import { CRICTL, ttyExecWithResize } from "../../support/crictl.js";

const CRUN = "/usr/bin/crun";

interface HandlerInfo {
  name: string;
  root: string;
  ok: boolean;
  reason: string;
}

describe("the crun runtime handler, through the CRI", function () {
  this.timeout(120_000);
  let env: PodEnv | undefined;
  let move: HugetlbMove | undefined;
  let unlock: (() => Promise<void>) | undefined;
  let crun: HandlerInfo;

  /** The container ids crun holds in berth's root for it. */
  const crunIds = (): string[] =>
    execFileSync(CRUN, ["--root", crun.root, "list", "-q"], { encoding: "utf8" }).split("\n");

  /** Runs a pod on the crun handler; `edit` changes its config first. */
  async function crunPod(name: string, edit: (p: PodSandboxConfig) => void = () => undefined) {
    const pod = podConfig(env!, name);
    edit(pod);
    const { pod_sandbox_id: podId } = await env!.berthd.client.call.RunPodSandbox({
      config: pod,
      runtime_handler: "crun",
    });
    return { pod, podId };
  }

  before(async function () {
    this.timeout(400_000);
    if (process.getuid?.() !== 0) this.skip();
    if (!existsSync(CRUN)) {
      console.log(`      skipped: ${CRUN} is not installed`);
      this.skip();
    }
    // A conformance kit run may be moving hugetlb right now: wait for it to finish.
    unlock = await takeCritestLock(300_000);
    if (unlock === undefined) {
      console.log("      skipped: /tmp/critest.lock stayed taken for 5 minutes");
      this.skip();
    }
    move = moveHugetlbToV1();
    env = await startPodEnv();
    const st = await env.berthd.client.call.Status({ verbose: true });
    const handlers = JSON.parse(st.info["runtimeHandlers"]!) as HandlerInfo[];
    const found = handlers.find((h) => h.name === "crun");
    if (found === undefined || !found.ok) {
      const ready = st.status!.conditions.find((c) => c.type === "RuntimeReady");
      // cgroup2 holding no controller is all crun 1.8 asks of this host: then it must work.
      if (unifiedControllers().length === 0) {
        throw new Error(`crun should work on this host, but: ${ready?.message ?? "not listed"}`);
      }
      console.log(
        `      skipped: crun is unusable here (cgroup2 holds: ${unifiedControllers().join(" ") || "nothing"}): ${ready?.message ?? ""}`,
      );
      this.skip();
    }
    crun = found;
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await env?.cleanup();
    } finally {
      try {
        await move?.restore();
      } finally {
        await unlock?.();
      }
    }
  });

  it("Status lists crun with exactly the features crun 1.8 has (none of the optional ones)", async () => {
    const st = await env!.berthd.client.call.Status({});
    const h = st.runtime_handlers.find((r) => r.name === "crun");
    expect(h, JSON.stringify(st.runtime_handlers)).to.not.equal(undefined);
    expect(h!.features).to.deep.equal({
      recursive_read_only_mounts: false,
      user_namespaces: false,
    });
  });

  it("runs a pod and a container on crun: output, exit code, crun's own state", async () => {
    const e = env!;
    const c = e.berthd.client.call;
    const { pod, podId } = await crunPod("on-crun");
    const ps = await c.PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
    expect(ps.status!.state).to.equal("SANDBOX_READY");
    expect(ps.status!.runtime_handler).to.equal("crun");
    expect(JSON.parse(ps.info["info"]!)).to.include({ runtimeHandler: "crun" });

    const { container_id: ctrId } = await c.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(e, "hello", ["/bin/sh", "-c", "echo hello from crun; sleep 600"]),
      sandbox_config: pod,
    });
    await c.StartContainer({ container_id: ctrId });
    // crun, not runc, holds the container: it is in crun's state directory. The pod has no
    // infra container (drop_infra_ctr): nothing of it is in any runtime.
    expect(crunIds()).to.include(ctrId).and.not.include(podId);
    const r = await c.ExecSync({ container_id: ctrId, cmd: ["sh", "-c", "exit 7"], timeout: 10 });
    expect(r.exit_code).to.equal(7);
    const st = await eventually(async () => {
      const s = (await c.ContainerStatus({ container_id: ctrId })).status!;
      const lines = parseCriLog(await fs.readFile(s.log_path, "utf8")).map((l) => l.content);
      expect(lines).to.include("hello from crun");
      return s;
    });
    expect(st.state).to.equal("CONTAINER_RUNNING");
    await c.StopContainer({ container_id: ctrId, timeout: 2 });
    const stopped = (await c.ContainerStatus({ container_id: ctrId })).status!;
    expect(stopped.state).to.equal("CONTAINER_EXITED");
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
    expect(crunIds()).to.not.include(ctrId).and.not.include(podId);
  });
  it("a pod sharing its PID namespace keeps its infra container, on crun", async () => {
    const e = env!;
    const c = e.berthd.client.call;
    const { podId } = await crunPod("infra-on-crun", (pod) => {
      pod.linux!.security_context!.namespace_options!.pid = "POD";
    });
    try {
      expect(crunIds()).to.include(podId);
    } finally {
      await c.StopPodSandbox({ pod_sandbox_id: podId });
      await c.RemovePodSandbox({ pod_sandbox_id: podId });
    }
    expect(crunIds()).to.not.include(podId);
  });

  it("streams on crun: an exec's terminal follows resizes; a killed client's background child ends", async function () {
    // crun 1.8 passes SIGWINCH on without resizing the container's terminal, and the session it
    // gives an exec is led by a process that is gone by the time the client is: both are
    // berth's to handle (container-tty.ts, pipe-holders.ts).
    if (!existsSync(CRICTL)) this.skip();
    const e = env!;
    const c = e.berthd.client.call;
    const { pod, podId } = await crunPod("stream-on-crun");
    try {
      const { container_id: ctrId } = await c.CreateContainer({
        pod_sandbox_id: podId,
        config: containerConfig(e, "sleeper", ["/bin/sleep", "600"]),
        sandbox_config: pod,
      });
      await c.StartContainer({ container_id: ctrId });
      const r = await ttyExecWithResize(e.berthd.socket, ctrId, "spdy");
      expect(r.stdout).to.match(/30 100\r?\n/);
      expect(r.stdout).to.match(/40 120\r?\n/);
      expect(r.code, r.stdout).to.equal(0);

      const ps = async () =>
        (
          await c.ExecSync({ container_id: ctrId, cmd: ["ps", "-o", "args"], timeout: 10 })
        ).stdout.toString();
      const client = spawn(CRICTL, [
        "--runtime-endpoint",
        `unix://${e.berthd.socket}`,
        "exec",
        ctrId,
        "sh",
        "-c",
        "sleep 4646 & echo started",
      ]);
      let out = "";
      client.stdout.on("data", (b: Buffer) => (out += b.toString()));
      try {
        await eventually(async () => expect(out).to.include("started"));
        expect(await ps()).to.include("sleep 4646");
      } finally {
        client.kill("SIGKILL");
      }
      await eventually(async () => expect(await ps()).to.not.include("sleep 4646"));
    } finally {
      await c.StopPodSandbox({ pod_sandbox_id: podId });
      await c.RemovePodSandbox({ pod_sandbox_id: podId });
    }
  });
});
