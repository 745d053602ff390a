import { expect } from "chai";
import { ProcessRunner } from "../../../src/util/command.js";
import type { ExecPluginOptions, PortMapping } from "../../../src/network/cni-exec.js";
import {
  addNetworkList,
  checkNetworkList,
  delNetworkList,
  type ListCall,
} from "../../../src/network/cni-list.js";
import type { NetworkConfigList } from "../../../src/network/cni-types.js";
import { isIdleCall } from "../../../src/network/idle-plugins.js";
import { FakePlugins } from "./fake-plugin.js";

const prev = { cniVersion: "1.0.0", ips: [{ address: "10.9.0.2/24" }] };
const portmapStdin = (runtimeConfig?: unknown, prevResult: unknown = prev) => ({
  type: "portmap",
  cniVersion: "1.0.0",
  name: "n",
  capabilities: { portMappings: true },
  ...(runtimeConfig === undefined ? {} : { runtimeConfig }),
  ...(prevResult === undefined ? {} : { prevResult }),
});
const mapping: PortMapping = { hostPort: 8080, containerPort: 80, protocol: "tcp" };

describe("network/idle-plugins", () => {
  it("calls portmap idle without port mappings, for ADD, CHECK and DEL", () => {
    for (const stdin of [portmapStdin(), portmapStdin({ portMappings: [] })]) {
      expect(isIdleCall("portmap", "ADD", stdin)).to.equal(true);
      expect(isIdleCall("portmap", "CHECK", stdin)).to.equal(true);
      expect(isIdleCall("portmap", "DEL", stdin)).to.equal(true);
    }
  });

  it("runs portmap with mappings, another plugin always, and VERSION or STATUS always", () => {
    const withMappings = portmapStdin({ portMappings: [mapping] });
    for (const cmd of ["ADD", "CHECK", "DEL"] as const) {
      expect(isIdleCall("portmap", cmd, withMappings)).to.equal(false);
      expect(isIdleCall("bandwidth", cmd, { ...portmapStdin(), type: "bandwidth" })).to.equal(
        false,
      );
    }
    expect(isIdleCall("portmap", "VERSION", portmapStdin())).to.equal(false);
    expect(isIdleCall("portmap", "STATUS", portmapStdin())).to.equal(false);
  });

  it("runs portmap's ADD and CHECK without a prevResult, or with one it would convert", () => {
    const { prevResult: _dropped, ...none } = portmapStdin();
    expect(isIdleCall("portmap", "ADD", none)).to.equal(false);
    expect(isIdleCall("portmap", "CHECK", none)).to.equal(false);
    expect(isIdleCall("portmap", "DEL", none)).to.equal(true);
    const older = portmapStdin(undefined, { ...prev, cniVersion: "0.4.0" });
    expect(isIdleCall("portmap", "ADD", older)).to.equal(false);
  });
});

describe("network/cni-list with portmap (fake plugins)", () => {
  let fake: FakePlugins;
  const list: NetworkConfigList = {
    cniVersion: "1.0.0",
    name: "fakenet",
    disableCheck: false,
    plugins: [
      { type: "fakebr", bridge: "fbr0" },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
    ],
  };
  const bridgeResult = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "eth0", sandbox: "/x" }],
    ips: [{ address: "10.9.0.2/24", interface: 0 }],
  };
  const portmapResult = { ...bridgeResult, dns: { nameservers: ["10.9.0.53"] } };

  const exec = (): ExecPluginOptions => ({
    runner: new ProcessRunner(),
    baseEnv: fake.env(),
    timeoutMs: 10_000,
    networkName: list.name,
  });
  const call = (): ListCall => ({
    containerId: "sb1",
    netns: "/x",
    ifName: "eth0",
    cniArgs: "IgnoreUnknown=1",
    pluginDirs: [fake.pluginDir],
  });
  const callsMade = async (): Promise<string[]> =>
    (await fake.calls()).map((c) => `${c.plugin} ${c.command}`);

  beforeEach(async () => {
    fake = await FakePlugins.create(["fakebr", "portmap"]);
    await fake.setResult("fakebr", bridgeResult);
    await fake.setResult("portmap", portmapResult);
  });

  afterEach(async () => {
    await fake.cleanup();
  });

  it("does not start portmap for a pod without port mappings; ADD's result is the bridge's", async () => {
    for (const caps of [{}, { portMappings: [] }]) {
      await fake.resetCalls();
      const added = await addNetworkList(exec(), list, call(), caps);
      expect(added.raw).to.deep.equal(bridgeResult);
      await checkNetworkList(exec(), list, call(), caps, added.raw);
      await delNetworkList(exec(), list, call(), caps, added.raw);
      expect(await callsMade()).to.deep.equal(["fakebr ADD", "fakebr CHECK", "fakebr DEL"]);
    }
  });

  it("starts portmap with the mappings for a pod that has host ports", async () => {
    const caps = { portMappings: [mapping] };
    const added = await addNetworkList(exec(), list, call(), caps);
    expect(added.raw).to.deep.equal(portmapResult);
    await checkNetworkList(exec(), list, call(), caps, added.raw);
    await delNetworkList(exec(), list, call(), caps, added.raw);
    expect(await callsMade()).to.deep.equal([
      "fakebr ADD",
      "portmap ADD",
      "fakebr CHECK",
      "portmap CHECK",
      "portmap DEL",
      "fakebr DEL",
    ]);
    const pmAdd = (await fake.calls())[1]!;
    expect(pmAdd.stdin["runtimeConfig"]).to.deep.equal({ portMappings: [mapping] });
    expect(pmAdd.stdin["prevResult"]).to.deep.equal(bridgeResult);
  });

  it("still fails a list whose only plugin is portmap: it has no prevResult to pass on", async () => {
    const only: NetworkConfigList = { ...list, plugins: [list.plugins[1]!] };
    await fake.failOn("portmap", "ADD", JSON.stringify({ code: 999, msg: "must be chained" }));
    const err = await addNetworkList(exec(), only, call(), {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).to.contain("must be chained");
    expect(await callsMade()).to.deep.equal(["portmap ADD"]);
  });
});
