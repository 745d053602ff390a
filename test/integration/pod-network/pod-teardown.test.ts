// StopPodSandbox of a pod without an infra, on networks whose DEL needs no netns (bridge,
// host-local, portmap): the namespaces are released first, the kernel drops the veth with the
// netns, and CNI DEL only gives back the address (del-without-netns.ts). When StopPodSandbox
// returns, nothing of the pod's network is left: veth, address, masquerade chain. A process that
// still holds the netns does not keep the veth alive; a network with another plugin keeps the
// usual order (DEL first).
import { type ChildProcess, spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import {
  type PodEnv,
  containerConfig,
  eventually,
  podConfig,
  startPodEnv,
} from "../../support/pod-env.js";
import {
  type HostNetState,
  bridgePorts,
  enterPodNetworkSuite,
  iptablesLinesWith,
  linkExists,
  natChains,
  podChains,
  restoreHostNetState,
} from "./probes.js";

const NETWORK = "bt-teardown";

describe("StopPodSandbox releases a pod's namespaces before its network", function () {
  this.timeout(120_000);
  let env: PodEnv | undefined;
  let saved: HostNetState | undefined;
  let confDir = "";
  let ipamDir = "";
  const holders: ChildProcess[] = [];

  before(async function () {
    saved = await enterPodNetworkSuite(this);
    confDir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-teardown-net-"));
    ipamDir = path.join(confDir, "ipam");
    env = await startPodEnv({ cniConfDir: confDir });
  });
  afterEach(() => {
    for (const h of holders.splice(0)) if (h.exitCode === null) h.kill("SIGKILL");
  });
  after(async () => {
    try {
      await env?.cleanup();
      if (confDir !== "") await fs.rm(confDir, { recursive: true, force: true });
    } finally {
      await restoreHostNetState(saved);
    }
  });

  const e = (): PodEnv => {
    if (!env) throw new Error("no pod env");
    return env;
  };

  /** The test's bridge and /24 with ipMasq and portmap, plus `extra` plugins. */
  async function writeConflist(extra: object[] = []): Promise<void> {
    const list = {
      cniVersion: "1.0.0",
      name: NETWORK,
      plugins: [
        {
          type: "bridge",
          bridge: e().bridge,
          isGateway: true,
          ipMasq: true,
          ipam: { type: "host-local", ranges: [[{ subnet: e().subnet }]], dataDir: ipamDir },
        },
        { type: "portmap", capabilities: { portMappings: true } },
        ...extra,
      ],
    };
    await fs.writeFile(path.join(confDir, "10-teardown.conflist"), JSON.stringify(list));
  }

  async function reservations(): Promise<string[]> {
    const names = await fs.readdir(path.join(ipamDir, NETWORK)).catch(() => []);
    return names.filter((n) => /^[0-9.]+$/.test(n));
  }

  /** How many StopPodSandbox calls went through `step` (berth_operation_step_seconds). */
  async function stopsThrough(step: string): Promise<number> {
    const re = new RegExp(
      `^berth_operation_step_seconds_count\\{op="StopPodSandbox",step="${step}"\\} (\\d+)$`,
      "m",
    );
    return Number(re.exec(await e().berthd.metricsText())?.[1] ?? 0);
  }

  /** A pod with a running container; its id, IP, netns file and the host end of its veth. */
  async function runPod(name: string) {
    const c = e().berthd.client.call;
    const pod = podConfig(e(), name);
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    const { container_id } = await c.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(e(), "sleeper", ["sleep", "600"]),
      sandbox_config: pod,
    });
    await c.StartContainer({ container_id });
    const st = await c.PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
    const info = JSON.parse(st.info["info"] ?? "{}") as { netnsPath: string };
    const veths = bridgePorts(e().bridge);
    expect(veths, "one veth on the bridge").to.have.length(1);
    expect(await reservations()).to.deep.equal([st.status!.network!.ip]);
    const chains = podChains([podId]);
    expect(chains, "masquerade chain").to.have.length(1);
    return { podId, netnsPath: info.netnsPath, veth: veths[0]!, chain: chains[0]! };
  }

  /** Nothing of the pod's network is left the moment StopPodSandbox has returned. */
  async function expectNetworkGone(pod: Awaited<ReturnType<typeof runPod>>) {
    const { podId, netnsPath, veth, chain } = pod;
    expect(linkExists(veth), `${veth} gone`).to.equal(false);
    expect(bridgePorts(e().bridge), "bridge ports").to.deep.equal([]);
    expect(await reservations(), "host-local reservations").to.deep.equal([]);
    expect(natChains(), "masquerade chain").to.not.include(chain);
    expect(iptablesLinesWith([podId]), "iptables").to.deep.equal([]);
    expect(await fs.stat(netnsPath).catch(() => undefined), "netns file").to.equal(undefined);
  }

  /** StopPodSandbox, which must take `step`; nothing of the pod's network is left; remove. */
  async function stopAndCheck(pod: Awaited<ReturnType<typeof runPod>>, step: string) {
    const before = await stopsThrough(step);
    await e().berthd.client.call.StopPodSandbox({ pod_sandbox_id: pod.podId });
    await expectNetworkGone(pod);
    expect(await stopsThrough(step), `StopPodSandbox step ${step}`).to.equal(before + 1);
    await e().berthd.client.call.RemovePodSandbox({ pod_sandbox_id: pod.podId });
  }

  it("netns first on bridge + host-local + portmap: veth, address and masquerade gone at return", async () => {
    await writeConflist();
    await stopAndCheck(await runPod("ns-first"), "containers-mounts-network");
  });

  it("a process still holding the netns: its veth is deleted all the same", async () => {
    await writeConflist();
    const pod = await runPod("held");
    const { podId, netnsPath } = pod;
    const holder = spawn("nsenter", [`--net=${netnsPath}`, "sleep", "120"], { stdio: "ignore" });
    holders.push(holder);
    // nsenter has joined once its exec of sleep shows in /proc.
    await eventually(async () => {
      const comm = await fs.readFile(`/proc/${holder.pid}/comm`, "utf8");
      expect(comm.trim()).to.equal("sleep");
    });
    await e().berthd.client.call.StopPodSandbox({ pod_sandbox_id: podId });
    await expectNetworkGone(pod);
    expect(holder.exitCode, "the holder is not berth's to kill").to.equal(null);
    expect(e().berthd.logs).to.include("the pod's netns outlived its release");
    await e().berthd.client.call.RemovePodSandbox({ pod_sandbox_id: podId });
  });

  it("a plugin whose DEL may need the netns (tuning): DEL runs first, and all is released", async () => {
    await writeConflist([{ type: "tuning" }]);
    await stopAndCheck(await runPod("del-first"), "containers-network");
  });
});
