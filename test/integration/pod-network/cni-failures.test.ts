// Issue #5, the failure half, through the CRI of a real berthd whose CNI conf dir is a temp dir
// the test writes into (no default network): no config or only broken ones → NetworkReady false
// with the reason and RunPodSandbox failing with it; a plugin that fails ADD → the chain torn
// down and the plugin's message returned; nothing of the pod left behind either way.
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { Berthd } from "../../support/berthd.js";
import { deleteLink, podConfig, removeAllPods, testNetwork } from "../../support/pod-env.js";
import {
  type HostNetState,
  bridgePorts,
  cniCacheEntries,
  enterPodNetworkSuite,
  iptablesLinesWith,
  netnsLeftovers,
  podDirs,
  restoreHostNetState,
  subnetPrefix,
} from "./probes.js";

const FAKE_PLUGIN = "berth-test-fail-add";

/** A CNI plugin that logs each call, fails every ADD with a CNI error object, passes DEL. */
function fakePluginScript(logFile: string): string {
  return `#!/bin/sh
cat > /dev/null
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME" >> ${logFile}
case "$CNI_COMMAND" in
  ADD)
    echo '{"cniVersion":"1.0.0","code":11,"msg":"fake plugin refuses ADD","details":"no addresses today"}'
    exit 1 ;;
  VERSION)
    echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}' ;;
esac
exit 0
`;
}

describe("CNI failures over the CRI (broken config, failing plugin)", function () {
  this.timeout(120_000);
  let berthd: Berthd | undefined;
  let saved: HostNetState | undefined;
  let tmp = "";
  let confDir = "";
  let pluginDir = "";
  let ipamDir = "";
  let pluginLog = "";
  const net = testNetwork();
  const networkName = `bt-${net.bridge.slice(2)}`;

  before(async function () {
    saved = await enterPodNetworkSuite(this);
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cnifail-"));
    confDir = path.join(tmp, "net.d");
    pluginDir = path.join(tmp, "plugins");
    ipamDir = path.join(tmp, "ipam");
    pluginLog = path.join(tmp, "plugin.log");
    await fs.mkdir(confDir);
    await fs.mkdir(pluginDir);
    await fs.writeFile(path.join(pluginDir, FAKE_PLUGIN), fakePluginScript(pluginLog), {
      mode: 0o755,
    });
    berthd = await Berthd.start({
      configToml: [
        "[cni]",
        `conf_dir = "${confDir}"`,
        `plugin_dirs = ["${pluginDir}", "/usr/lib/cni"]`,
        "default_network = false",
      ].join("\n"),
    });
  });
  afterEach(async () => {
    if (berthd?.running) await removeAllPods(berthd);
    for (const f of await fs.readdir(confDir).catch(() => [])) {
      await fs.rm(path.join(confDir, f), { force: true });
    }
  });
  after(async () => {
    try {
      await berthd?.cleanup();
      deleteLink(net.bridge);
      if (tmp !== "") await fs.rm(tmp, { recursive: true, force: true });
    } finally {
      await restoreHostNetState(saved);
    }
  });

  const b = (): Berthd => {
    if (!berthd) throw new Error("no berthd");
    return berthd;
  };
  const env = () => ({ logDir: path.join(tmp, "logs") });

  /** A bridge network on the test's own bridge and /24, with `extra` plugins appended. */
  async function writeBridgeConflist(file: string, extra: object[] = []): Promise<void> {
    const list = {
      cniVersion: "1.0.0",
      name: networkName,
      plugins: [
        {
          type: "bridge",
          bridge: net.bridge,
          isGateway: true,
          ipMasq: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: net.subnet }]],
            dataDir: ipamDir,
          },
        },
        { type: "portmap", capabilities: { portMappings: true }, snat: true },
        ...extra,
      ],
    };
    await fs.writeFile(path.join(confDir, file), JSON.stringify(list, null, 2));
  }

  async function networkCondition(): Promise<{ status: boolean; reason: string; message: string }> {
    const st = await b().client.call.Status({});
    const cond = st.status!.conditions.find((c) => c.type === "NetworkReady");
    if (!cond) throw new Error("no NetworkReady condition");
    return cond;
  }

  async function runFails(name: string): Promise<{ code: number; details: string }> {
    try {
      const r = await b().client.call.RunPodSandbox({ config: podConfig(env(), name) });
      throw new Error(`RunPodSandbox succeeded: ${r.pod_sandbox_id}`);
    } catch (err) {
      const e = err as { code?: number; details?: string };
      if (e.code === undefined) throw err;
      return { code: e.code, details: e.details ?? "" };
    }
  }

  async function reservations(): Promise<string[]> {
    const names = await fs.readdir(path.join(ipamDir, networkName)).catch(() => []);
    return names.filter((n) => /^[0-9.]+$/.test(n) && n.includes("."));
  }

  async function expectNothingLeft(): Promise<void> {
    expect((await b().client.call.ListPodSandbox({})).items, "pods").to.deep.equal([]);
    expect(await netnsLeftovers(b()), "netns").to.deep.equal([]);
    expect(await cniCacheEntries(b()), "CNI cache").to.deep.equal([]);
    expect(await podDirs(b()), "pod dirs").to.deep.equal([]);
    expect(bridgePorts(net.bridge), "veths").to.deep.equal([]);
    expect(await reservations(), "host-local reservations").to.deep.equal([]);
    expect(iptablesLinesWith([subnetPrefix(net.subnet)]), "iptables").to.deep.equal([]);
  }

  it("no config: NetworkReady false with the reason; RunPodSandbox fails with it", async () => {
    const cond = await networkCondition();
    expect(cond.status).to.equal(false);
    expect(cond.reason).to.equal("NetworkPluginNotReady");
    expect(cond.message).to.include(`no network config found in ${confDir}`);
    const failed = await runFails("no-config");
    expect(failed.code).to.equal(status.FAILED_PRECONDITION);
    expect(failed.details).to.include(`no network config found in ${confDir}`);
    await expectNothingLeft();
  });

  it("broken configs: each file named with why it is unusable; a good one makes it ready", async () => {
    await fs.writeFile(path.join(confDir, "10-bad.conflist"), "{ not json");
    await fs.writeFile(
      path.join(confDir, "20-missing.conflist"),
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "missing",
        plugins: [{ type: "berth-no-such-plugin" }],
      }),
    );
    await fs.writeFile(
      path.join(confDir, "30-empty.conflist"),
      JSON.stringify({ cniVersion: "1.0.0", name: "empty", plugins: [] }),
    );
    const cond = await networkCondition();
    expect(cond.status).to.equal(false);
    expect(cond.reason).to.equal("NetworkPluginNotReady");
    expect(cond.message).to.match(/10-bad\.conflist: invalid JSON/);
    expect(cond.message).to.include(`20-missing.conflist: plugin "berth-no-such-plugin" not found`);
    expect(cond.message).to.include("30-empty.conflist");
    const failed = await runFails("broken-config");
    expect(failed.code).to.equal(status.FAILED_PRECONDITION);
    expect(failed.details).to.include("10-bad.conflist: invalid JSON");
    expect(failed.details).to.include("berth-no-such-plugin");
    await expectNothingLeft();

    // A usable file after the broken ones: ready again without a restart, and pods run.
    await writeBridgeConflist("40-good.conflist");
    expect((await networkCondition()).status).to.equal(true);
    const c = b().client.call;
    const { pod_sandbox_id: id } = await c.RunPodSandbox({ config: podConfig(env(), "good") });
    const st = await c.PodSandboxStatus({ pod_sandbox_id: id });
    expect(st.status!.network!.ip.startsWith(subnetPrefix(net.subnet))).to.equal(true);
    await c.StopPodSandbox({ pod_sandbox_id: id });
    await c.RemovePodSandbox({ pod_sandbox_id: id });
    await expectNothingLeft();
  });

  it("a plugin that fails ADD: the chain is torn down and its message returned", async () => {
    await writeBridgeConflist("10-failing.conflist", [{ type: FAKE_PLUGIN }]);
    await fs.rm(pluginLog, { force: true });
    expect((await networkCondition()).status).to.equal(true);
    const failed = await runFails("plugin-fails");
    expect(failed.code).to.equal(status.INTERNAL);
    expect(failed.details).to.include(`CNI plugin ${FAKE_PLUGIN}`);
    expect(failed.details).to.include("fake plugin refuses ADD");
    expect(failed.details).to.include("no addresses today");

    // ADD reached the fake plugin (after bridge and portmap succeeded), then DEL ran for the
    // pod's interface, tearing down bridge and portmap too.
    const calls = (await fs.readFile(pluginLog, "utf8")).trim().split("\n");
    expect(calls.map((l) => l.split(" ")[0])).to.deep.equal(["ADD", "DEL"]);
    const [, sandboxId, ifName] = calls[0]!.split(" ");
    expect(ifName).to.equal("eth0");
    expect(calls[1]).to.equal(`DEL ${sandboxId} eth0`);
    expect(iptablesLinesWith([sandboxId!])).to.deep.equal([]);
    await expectNothingLeft();

    // The pod name is free again once the plugin is fixed.
    await writeBridgeConflist("10-failing.conflist");
    const c = b().client.call;
    const { pod_sandbox_id: id } = await c.RunPodSandbox({
      config: podConfig(env(), "plugin-fails"),
    });
    await c.StopPodSandbox({ pod_sandbox_id: id });
    await c.RemovePodSandbox({ pod_sandbox_id: id });
    await expectNothingLeft();
  });
});
