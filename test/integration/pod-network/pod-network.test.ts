// Issue #5 through the CRI of a real berthd with Debian's CNI plugins: pods on berth's default
// bridge reach each other, hostPorts through portmap, the IP released by a berthd that was
// killed and restarted, the CNI latency metric, and no leak when the infra fails after ADD.
// Every connection goes to the test's own /24 or 127.0.0.1 (see ownTarget).
import { readdirSync } from "node:fs";
import { randomInt } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import {
  eventually,
  podConfig,
  type PodEnv,
  removeAllPods,
  runPodWith,
  startPodEnv,
} from "../../support/pod-env.js";
import {
  type HostNetState,
  bridgePorts,
  cniCacheEntries,
  enterPodNetworkSuite,
  iptablesLinesWith,
  netnsLeftovers,
  ownTarget,
  podChains,
  podDirs,
  reservations,
  restoreHostNetState,
  subnetPrefix,
  tcpRead,
} from "./probes.js";

describe("pod network over the CRI (bridge, host-local, portmap)", function () {
  this.timeout(120_000);
  let env: PodEnv | undefined;
  let saved: HostNetState | undefined;

  before(async function () {
    saved = await enterPodNetworkSuite(this);
    env = await startPodEnv();
  });
  afterEach(async () => {
    if (env?.berthd.running) await removeAllPods(env.berthd);
  });
  after(async () => {
    try {
      if (env && !env.berthd.running) await env.berthd.launch();
      await env?.cleanup();
    } finally {
      await restoreHostNetState(saved);
    }
  });

  const e = (): PodEnv => {
    if (!env) throw new Error("no pod env");
    return env;
  };

  async function podIp(podId: string): Promise<string> {
    const st = await e().berthd.client.call.PodSandboxStatus({ pod_sandbox_id: podId });
    return st.status!.network!.ip;
  }

  async function waitRunning(ctrId: string): Promise<void> {
    await eventually(async () => {
      const s = await e().berthd.client.call.ContainerStatus({ container_id: ctrId });
      expect(s.status!.state).to.equal("CONTAINER_RUNNING");
    });
  }

  /** Runs `cmd` in a container; stdout and exit code. */
  async function exec(ctrId: string, cmd: string[]): Promise<{ out: string; code: number }> {
    const r = await e().berthd.client.call.ExecSync({ container_id: ctrId, cmd, timeout: 10 });
    return { out: r.stdout.toString() + r.stderr.toString(), code: r.exit_code };
  }

  /** A pod whose container answers every TCP connection on 8080 with `reply`. */
  async function runServerPod(
    name: string,
    reply: string,
    podExtra: Parameters<typeof runPodWith>[3] = {},
  ): Promise<{ podId: string; ctrId: string }> {
    const cmd = ["/bin/nc", "-ll", "-p", "8080", "-e", "/bin/echo", reply];
    const { podId, ctrId } = await runPodWith(e(), name, cmd, podExtra);
    await waitRunning(ctrId);
    await eventually(async () => {
      expect((await exec(ctrId, ["/bin/nc", "-w", "1", "127.0.0.1", "8080"])).out).to.include(
        reply,
      );
    });
    return { podId, ctrId };
  }

  async function removePods(ids: string[]): Promise<void> {
    const c = e().berthd.client.call;
    for (const id of ids) {
      await c.StopPodSandbox({ pod_sandbox_id: id });
      await c.RemovePodSandbox({ pod_sandbox_id: id });
    }
  }

  /** Nothing of any pod left: veths, reservations, rules, netns, cache entries, pod dirs. */
  async function expectNoPodNetwork(ids: string[]): Promise<void> {
    const env = e();
    expect(bridgePorts(env.bridge), "veths on the bridge").to.deep.equal([]);
    expect(await reservations(env.berthd), "host-local reservations").to.deep.equal([]);
    expect(iptablesLinesWith([...ids, subnetPrefix(env.subnet)]), "iptables").to.deep.equal([]);
    expect(await netnsLeftovers(env.berthd), "netns").to.deep.equal([]);
    expect(await cniCacheEntries(env.berthd), "CNI result cache").to.deep.equal([]);
    expect(await podDirs(env.berthd), "pod dirs and records").to.deep.equal([]);
  }

  it("gives two pods distinct IPs in the subnet; they ping and reach a TCP server by IP", async () => {
    const env = e();
    const prefix = subnetPrefix(env.subnet);
    const b = await runServerPod("net-b", "hello-from-b");
    const a = await runPodWith(env, "net-a", ["/bin/sleep", "600"]);
    await waitRunning(a.ctrId);
    const ipA = await podIp(a.podId);
    const ipB = ownTarget(env.subnet, await podIp(b.podId));
    expect(ipA.startsWith(prefix), ipA).to.equal(true);
    expect(ipB.startsWith(prefix), ipB).to.equal(true);
    expect(ipA).to.not.equal(ipB);
    expect(await reservations(env.berthd)).to.deep.equal([ipA, ipB].sort());
    expect(bridgePorts(env.bridge)).to.have.length(2);

    // The pod's only routes lead over eth0 (the test bridge) to the test subnet's gateway.
    const routes = await exec(a.ctrId, ["/bin/ip", "-4", "route"]);
    expect(routes.code).to.equal(0);
    const lines = routes.out.trim().split("\n");
    expect(
      lines.every((l) => l.includes("dev eth0")),
      routes.out,
    ).to.equal(true);
    expect(routes.out).to.include(`default via ${prefix}1 dev eth0`);

    const ping = await exec(a.ctrId, ["/bin/ping", "-c", "1", "-W", "3", ipB]);
    expect(ping.code, ping.out).to.equal(0);
    expect(ping.out).to.include("1 packets received");
    const tcp = await exec(a.ctrId, ["/bin/nc", "-w", "3", ipB, "8080"]);
    expect(tcp.out).to.include("hello-from-b");
    // And from the host to the pod's IP, over the bridge.
    expect(await tcpRead(env.subnet, ipB, 8080)).to.include("hello-from-b");

    await removePods([a.podId, b.podId]);
    await expectNoPodNetwork([a.podId, b.podId]);
  });

  it("maps a hostPort on 127.0.0.1 to the pod (portmap); the mapping is gone after stop", async () => {
    const env = e();
    const c = env.berthd.client.call;
    const hostPort = randomInt(20_000, 40_000);
    const { podId } = await runServerPod("hostport", "hello-via-hostport", {
      port_mappings: [
        { protocol: "TCP", container_port: 8080, host_port: hostPort, host_ip: "127.0.0.1" },
      ],
    });
    const dnat = () => iptablesLinesWith([`--dport ${hostPort}`, `--dports ${hostPort}`]);
    expect(dnat(), "DNAT rule for the host port").to.not.deep.equal([]);
    expect(await tcpRead(env.subnet, "127.0.0.1", hostPort)).to.include("hello-via-hostport");

    await c.StopPodSandbox({ pod_sandbox_id: podId });
    expect(dnat()).to.deep.equal([]);
    expect(iptablesLinesWith([podId])).to.deep.equal([]);
    expect(podChains([podId])).to.deep.equal([]);
    let reached = "";
    try {
      reached = await tcpRead(env.subnet, "127.0.0.1", hostPort, 1000);
    } catch (err) {
      expect(String(err)).to.match(/ECONNREFUSED|timeout/);
    }
    expect(reached).to.not.include("hello-via-hostport");
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
    await expectNoPodNetwork([podId]);
  });

  it("releases the IP with StopPodSandbox after berthd was killed and restarted", async () => {
    const env = e();
    const { pod_sandbox_id: podId } = await env.berthd.client.call.RunPodSandbox({
      config: podConfig(env, "crash"),
    });
    const ip = await podIp(podId);
    expect(await reservations(env.berthd)).to.deep.equal([ip]);
    const veths = bridgePorts(env.bridge);
    expect(veths).to.have.length(1);

    await env.berthd.kill9();
    await env.berthd.launch();
    const c = env.berthd.client.call;
    const st = await c.PodSandboxStatus({ pod_sandbox_id: podId });
    expect(st.status!.state).to.equal("SANDBOX_READY");
    expect(st.status!.network!.ip).to.equal(ip);

    await c.StopPodSandbox({ pod_sandbox_id: podId });
    expect(await reservations(env.berthd), "IP released").to.deep.equal([]);
    expect(bridgePorts(env.bridge)).to.deep.equal([]);
    expect(iptablesLinesWith([podId])).to.deep.equal([]);
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
    await expectNoPodNetwork([podId]);
  });

  it("records CNI setup and teardown in berth_cni_operation_duration_seconds", async () => {
    const env = e();
    const c = env.berthd.client.call;
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: podConfig(env, "metrics") });
    await removePods([podId]);
    const text = await env.berthd.metricsText();
    for (const op of ["setup", "teardown"]) {
      const m = new RegExp(
        `^berth_cni_operation_duration_seconds_count\\{operation="${op}"\\} (\\d+)$`,
        "m",
      ).exec(text);
      expect(m, `${op} count in:\n${text}`).to.not.equal(null);
      expect(Number(m![1])).to.be.at.least(1);
    }
    expect(text).to.match(/^berth_cni_operation_duration_seconds_bucket\{.*operation="setup"/m);
  });

  it("leaves no network behind when the infra fails to start after CNI ADD", async () => {
    const env = e();
    const c = env.berthd.client.call;
    const hostPort = randomInt(20_000, 40_000);
    // A net.* sysctl on a device that does not exist: the OCI runtime fails writing it, after
    // the network (with a hostPort) was set up.
    const bad = podConfig(env, "infra-fails", {
      port_mappings: [
        { protocol: "TCP", container_port: 8080, host_port: hostPort, host_ip: "127.0.0.1" },
      ],
    });
    bad.linux = { ...bad.linux, sysctls: { "net.ipv4.conf.nosuchif0.forwarding": "1" } };
    const before = await env.berthd.metricsText();
    const setupsBefore = setupCount(before);
    const podCgroupsBefore = berthPodCgroups();
    let failed: { code: number; details: string } | undefined;
    try {
      await c.RunPodSandbox({ config: bad });
    } catch (err) {
      failed = err as { code: number; details: string };
    }
    expect(failed, "RunPodSandbox succeeded").to.not.equal(undefined);
    expect(failed!.code).to.not.equal(status.OK);
    expect(failed!.details).to.match(/nosuchif0/);
    // The network really was set up before the failure, then torn down.
    expect(setupCount(await env.berthd.metricsText())).to.equal(setupsBefore + 1);
    expect((await c.ListPodSandbox({})).items).to.deep.equal([]);
    expect(iptablesLinesWith([`--dport ${hostPort}`, `--dports ${hostPort}`])).to.deep.equal([]);
    await expectNoPodNetwork([]);
    // runc had made the pod's cgroups before it failed; none are left.
    expect(berthPodCgroups()).to.deep.equal(podCgroupsBefore);

    // The name is free again.
    const { pod_sandbox_id: ok } = await c.RunPodSandbox({
      config: podConfig(env, "infra-fails"),
    });
    await removePods([ok]);
    await expectNoPodNetwork([ok]);
  });
});

/** Pod cgroups under berth's own parent, in every v1 hierarchy that has it. */
function berthPodCgroups(): string[] {
  const out: string[] = [];
  for (const c of ["memory", "cpu", "pids", "freezer"]) {
    try {
      for (const d of readdirSync(`/sys/fs/cgroup/${c}/berth`))
        if (/^[0-9a-f]{64}$/.test(d)) out.push(`${c}/${d}`);
    } catch {
      // hierarchy without berth's parent
    }
  }
  return out.sort();
}

function setupCount(metrics: string): number {
  const m = /^berth_cni_operation_duration_seconds_count\{operation="setup"\} (\d+)$/m.exec(
    metrics,
  );
  return m ? Number(m[1]) : 0;
}
