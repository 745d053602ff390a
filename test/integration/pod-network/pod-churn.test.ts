// Issue #5: kubelet's pod CIDR rewrites berth's default network, and 100 pods created and
// removed in parallel batches of 10 leave nothing behind (netns, veths, host-local
// reservations, iptables rules, cache entries) while addresses are reused. The pod CIDR is a
// /26 inside the test's own /24, so 100 pods must wrap around it.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import {
  eventually,
  podConfig,
  type PodEnv,
  removeAllPods,
  startPodEnv,
} from "../../support/pod-env.js";
import {
  type HostNetState,
  bridgePorts,
  cniCacheEntries,
  enterPodNetworkSuite,
  iptablesLinesWith,
  linkExists,
  natChains,
  netnsLeftovers,
  podChains,
  podDirs,
  processCpuSeconds,
  reservations,
  restoreHostNetState,
  subnetPrefix,
} from "./probes.js";

const PODS = 100;
const BATCH = 10;

describe("pod network churn and pod CIDR (CRI, default bridge)", function () {
  // ~70 s on a quiet 2-core host (0.8 s CPU a pod); ~135 s while other suites load it.
  this.timeout(300_000);
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
      await env?.cleanup();
    } finally {
      await restoreHostNetState(saved);
    }
  });

  const e = (): PodEnv => {
    if (!env) throw new Error("no pod env");
    return env;
  };
  const conflist = (): string => path.join(e().berthd.root, "cni", "net.d", "10-berth.conflist");
  /** The /26 from .64 of the test's /24: gateway .65, pods .66-.126. */
  const podCidr = (): string => `${subnetPrefix(e().subnet)}64/26`;

  async function conflistSubnets(): Promise<string[]> {
    const doc = JSON.parse(await fs.readFile(conflist(), "utf8")) as {
      plugins: { ipam?: { ranges?: { subnet: string }[][] } }[];
    };
    return (doc.plugins[0]?.ipam?.ranges ?? []).flat().map((r) => r.subnet);
  }

  async function usePodCidr(): Promise<void> {
    await e().berthd.client.call.UpdateRuntimeConfig({
      runtime_config: { network_config: { pod_cidr: podCidr() } },
    });
    // The rewrite runs after the call returns (see report): wait for it.
    await eventually(async () => expect(await conflistSubnets()).to.deep.equal([podCidr()]));
  }

  it("rewrites berth's default conflist when UpdateRuntimeConfig sets a new pod CIDR", async () => {
    const env = e();
    expect(await conflistSubnets()).to.deep.equal([env.subnet]);
    const before = await fs.readFile(conflist(), "utf8");
    await usePodCidr();
    const after = await fs.readFile(conflist(), "utf8");
    expect(after).to.not.equal(before);
    expect(after).to.include(env.bridge);
    const st = await env.berthd.client.call.Status({ verbose: true });
    expect(st.info["podCidr"]).to.equal(podCidr());
    const ready = st.status!.conditions.find((c) => c.type === "NetworkReady");
    expect(ready?.status).to.equal(true);

    // The pod CIDR survives a restart of berthd, and so does the file.
    await env.berthd.stop();
    await env.berthd.launch();
    expect(await conflistSubnets()).to.deep.equal([podCidr()]);
  });

  it(`creates and removes ${PODS} pods in batches of ${BATCH}: no leaks, IPs reused`, async () => {
    const env = e();
    const c = env.berthd.client.call;
    await usePodCidr();
    const chainsBefore = natChains();
    const assigned: string[] = [];
    const ids: string[] = [];
    const chains = new Set<string>();
    const veths = new Set<string>();
    const runMs: number[] = [];
    const cpu0 = await processCpuSeconds(env.berthd.pid ?? 0);
    const t0 = Date.now();
    for (let b = 0; b < PODS / BATCH; b++) {
      const batch = await Promise.all(
        Array.from({ length: BATCH }, async (_, i) => {
          const t = Date.now();
          const { pod_sandbox_id: id } = await c.RunPodSandbox({
            config: podConfig(env, `churn-${b}-${i}`),
          });
          runMs.push(Date.now() - t);
          return id;
        }),
      );
      ids.push(...batch);
      const ips = await Promise.all(
        batch.map(
          async (id) => (await c.PodSandboxStatus({ pod_sandbox_id: id })).status!.network!.ip,
        ),
      );
      expect(new Set(ips).size, `distinct IPs in batch ${b}`).to.equal(BATCH);
      for (const ip of ips) expect(ip, "in the pod CIDR").to.match(podCidrPattern(env.subnet));
      assigned.push(...ips);
      expect(await reservations(env.berthd)).to.deep.equal([...ips].sort());
      const ports = bridgePorts(env.bridge);
      expect(ports).to.have.length(BATCH);
      for (const p of ports) veths.add(p);
      for (const ch of podChains(batch)) chains.add(ch);
      await Promise.all(
        batch.map(async (id) => {
          await c.StopPodSandbox({ pod_sandbox_id: id });
          await c.RemovePodSandbox({ pod_sandbox_id: id });
        }),
      );
    }
    const totalMs = Date.now() - t0;
    const cpu = (await processCpuSeconds(env.berthd.pid ?? 0)) - cpu0;
    runMs.sort((x, y) => x - y);
    console.log(
      `      ${PODS} pods in ${totalMs} ms; RunPodSandbox (10 in parallel) ` +
        `median ${runMs[runMs.length >> 1]} ms, max ${runMs[runMs.length - 1]} ms; ` +
        `berthd + plugins/runc CPU ${cpu.toFixed(1)} s`,
    );

    // Every pod had its own masquerade chain while it ran; none is left.
    expect(chains.size).to.be.at.least(PODS);
    const leftChains = natChains().filter((ch) => chains.has(ch) || !chainsBefore.includes(ch));
    expect(leftChains.filter((ch) => !ch.startsWith("CNI-HOSTPORT-"))).to.deep.equal([]);
    expect(iptablesLinesWith([...ids, subnetPrefix(env.subnet)])).to.deep.equal([]);
    expect([...veths].filter(linkExists), "veths").to.deep.equal([]);
    expect(bridgePorts(env.bridge)).to.deep.equal([]);
    expect(await reservations(env.berthd), "host-local reservations").to.deep.equal([]);
    expect(await netnsLeftovers(env.berthd), "netns").to.deep.equal([]);
    expect(await cniCacheEntries(env.berthd), "CNI cache").to.deep.equal([]);
    expect(await podDirs(env.berthd), "pod dirs").to.deep.equal([]);
    expect((await c.ListPodSandbox({})).items).to.deep.equal([]);

    // 100 pods in a /26 (61 addresses for pods): host-local wrapped and handed out again.
    const distinct = new Set(assigned);
    expect(assigned).to.have.length(PODS);
    expect(distinct.size).to.be.at.most(61);
    expect(distinct.size).to.be.below(assigned.length);
  });
});

/** Addresses .65-.127 of the test /24 (the /26 pod CIDR). */
function podCidrPattern(subnet: string): RegExp {
  const prefix = subnetPrefix(subnet).replace(/\./g, "\\.");
  return new RegExp(`^${prefix}(6[5-9]|[7-9][0-9]|1[01][0-9]|12[0-7])$`);
}
