import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { FailedPreconditionError, NotFoundError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/log.js";
import { ProcessRunner } from "../../../src/util/command.js";
import { CniPluginError } from "../../../src/network/cni-result.js";
import {
  CniRunner,
  type CniOperation,
  type PodNetworkRequest,
} from "../../../src/network/cni-runner.js";
import { type FakeCall, FakePlugins } from "./fake-plugin.js";

const resultA = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "fbr0" }, { name: "eth0", sandbox: "NETNS" }],
  ips: [{ address: "10.9.0.2/24", gateway: "10.9.0.1", interface: 1 }],
};
const resultB = {
  ...resultA,
  ips: [{ address: "fd00:9::2/64", interface: 1 }, ...resultA.ips],
  dns: { nameservers: ["10.9.0.53"] },
};

/**
 * lo's chain and the pod network's chain run at once, so their interleaving is not part of the
 * contract; each chain's own order is. Within each run of calls of one command this puts
 * loopback's calls first for ADD and last for DEL (as a serial runner would), keeping every
 * other call's order (a stable sort), so the expectations still pin each chain's order.
 */
function byChain(calls: FakeCall[]): FakeCall[] {
  const out: FakeCall[] = [];
  let run: FakeCall[] = [];
  const flush = (): void => {
    const rank = (c: FakeCall): number =>
      c.plugin !== "loopback" ? 0 : c.command === "DEL" ? 1 : -1;
    out.push(...[...run].sort((a, b) => rank(a) - rank(b)));
    run = [];
  };
  for (const c of calls) {
    if (run.length > 0 && run[0]!.command !== c.command) flush();
    run.push(c);
  }
  flush();
  return out;
}

async function expectRejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("network/cni-runner (fake plugins)", () => {
  let fake: FakePlugins;
  let confDir: string;
  let cacheDir: string;
  let netns: string;
  let observed: { op: CniOperation; seconds: number; error?: unknown }[];

  const conflist = (version = "1.0.0"): string =>
    JSON.stringify({
      cniVersion: version,
      name: "fakenet",
      plugins: [
        { type: "fakebr", bridge: "fbr0", ipam: { type: "none" } },
        { type: "fakepm", capabilities: { portMappings: true, bandwidth: true }, snat: true },
      ],
    });

  const makeRunner = (): CniRunner =>
    new CniRunner({
      runner: new ProcessRunner(),
      logger: silentLogger(),
      confDirs: [confDir],
      pluginDirs: [fake.pluginDir],
      cacheDir,
      baseEnv: fake.env(),
      pluginTimeoutMs: 10_000,
      observe: (op, seconds, error) => observed.push({ op, seconds, error }),
    });

  const request = (): PodNetworkRequest => ({
    podName: "web",
    namespace: "ns1",
    uid: "u-1",
    sandboxId: "sb1",
    netnsPath: netns,
    capabilities: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] },
  });

  beforeEach(async () => {
    fake = await FakePlugins.create(["fakebr", "fakepm", "loopback"]);
    confDir = path.join(fake.root, "net.d");
    cacheDir = path.join(fake.root, "cache");
    netns = path.join(fake.root, "netns-sb1");
    await fs.mkdir(confDir);
    await fs.writeFile(netns, "");
    await fs.writeFile(path.join(confDir, "10-fake.conflist"), conflist());
    await fake.setResult("fakebr", resultA);
    await fake.setResult("fakepm", resultB);
    await fake.setResult("loopback", {
      cniVersion: "0.3.1",
      interfaces: [{ name: "lo", sandbox: netns }],
      ips: [],
    });
    observed = [];
  });

  afterEach(async () => {
    await fake.cleanup();
  });

  it("runs loopback, then the list in order with prevResult chaining, runtimeConfig and CNI env", async () => {
    const status = await makeRunner().setupPodNetwork(request());
    expect(status.ips).to.deep.equal(["10.9.0.2", "fd00:9::2"]);
    expect(status.dns).to.deep.equal({ nameservers: ["10.9.0.53"] });
    expect(status.interfaces.map((i) => i.name)).to.deep.equal(["fbr0", "eth0"]);

    const calls = byChain(await fake.calls());
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).to.deep.equal([
      "loopback ADD",
      "fakebr ADD",
      "fakepm ADD",
    ]);
    const [lo, br, pm] = calls;
    expect(lo!.env["CNI_IFNAME"]).to.equal("lo");
    expect(lo!.stdin).to.deep.equal({
      type: "loopback",
      cniVersion: "0.3.1",
      name: "cni-loopback",
    });
    expect(br!.env).to.deep.equal({
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "sb1",
      CNI_NETNS: netns,
      CNI_IFNAME: "eth0",
      CNI_ARGS:
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=sb1;K8S_POD_UID=u-1",
      CNI_PATH: fake.pluginDir,
    });
    expect(br!.stdin).to.deep.equal({
      type: "fakebr",
      bridge: "fbr0",
      ipam: { type: "none" },
      cniVersion: "1.0.0",
      name: "fakenet",
    });
    expect(pm!.stdin["prevResult"]).to.deep.equal(resultA);
    expect(pm!.stdin["runtimeConfig"]).to.deep.equal({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
    });

    const cached = JSON.parse(
      await fs.readFile(path.join(cacheDir, "sb1-eth0.json"), "utf8"),
    ) as Record<string, unknown>;
    expect(cached["result"]).to.deep.equal(resultB);
    expect(await fs.readdir(cacheDir)).to.have.members(["sb1-eth0.json", "sb1-lo.json"]);
    expect(observed.map((o) => [o.op, o.error])).to.deep.equal([["setup", undefined]]);
    expect(observed[0]!.seconds).to.be.greaterThan(0);
  });

  it("tears down in reverse order with the cached result, and a second teardown runs nothing", async () => {
    const runner = makeRunner();
    await runner.setupPodNetwork(request());
    await fake.resetCalls();
    await runner.teardownPodNetwork(request());
    const calls = byChain(await fake.calls());
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).to.deep.equal([
      "fakepm DEL",
      "fakebr DEL",
      "loopback DEL",
    ]);
    expect(calls[0]!.stdin["prevResult"]).to.deep.equal(resultB);
    expect(calls[0]!.stdin["runtimeConfig"]).to.deep.equal({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
    });
    expect(calls[1]!.stdin["prevResult"]).to.deep.equal(resultB);
    expect(calls[1]!.env["CNI_NETNS"]).to.equal(netns);
    expect(await fs.readdir(cacheDir)).to.deep.equal([]);
    expect(await runner.attachedSandboxIds()).to.deep.equal([]);

    await fake.resetCalls();
    await runner.teardownPodNetwork(request());
    expect(await fake.calls()).to.deep.equal([]);
    expect(observed.map((o) => o.op)).to.deep.equal(["setup", "teardown", "teardown"]);
  });

  it("tears down after a restart with the cached config, the conf dir changed and the netns gone", async () => {
    await makeRunner().setupPodNetwork(request());
    await fs.rm(path.join(confDir, "10-fake.conflist"));
    await fs.rm(netns);
    await fake.resetCalls();
    const restarted = makeRunner();
    expect(await restarted.attachedSandboxIds()).to.deep.equal(["sb1"]);
    expect((await restarted.readiness()).ready).to.equal(false);
    await restarted.teardownPodNetwork({ ...request(), netnsPath: "" });
    const calls = byChain(await fake.calls());
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).to.deep.equal([
      "fakepm DEL",
      "fakebr DEL",
      "loopback DEL",
    ]);
    for (const c of calls) expect(c.env["CNI_NETNS"]).to.equal("");
    expect(calls[1]!.stdin["name"]).to.equal("fakenet");
    expect(calls[1]!.env["CNI_ARGS"]).to.include("K8S_POD_NAME=web");
  });

  it("on a failing ADD runs DEL for cleanup and throws the plugin's message", async () => {
    await fake.failOn(
      "fakepm",
      "ADD",
      JSON.stringify({
        cniVersion: "1.0.0",
        code: 11,
        msg: "iptables locked",
        details: "try later",
      }),
    );
    const err = await expectRejection(makeRunner().setupPodNetwork(request()));
    expect(err).to.be.instanceOf(CniPluginError);
    expect((err as Error).message).to.equal(
      "CNI plugin fakepm (network fakenet) ADD failed (code 11): iptables locked; try later",
    );
    const calls = byChain(await fake.calls());
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).to.deep.equal([
      "loopback ADD",
      "fakebr ADD",
      "fakepm ADD",
      "fakepm DEL",
      "fakebr DEL",
      "loopback DEL",
    ]);
    // The interrupted ADD left no final result: DEL runs without a prevResult.
    expect(calls[3]!.stdin).to.not.have.property("prevResult");
    expect(await fs.readdir(cacheDir)).to.deep.equal([]);
    expect(observed).to.have.length(1);
    expect(observed[0]!.error).to.equal(err);
  });

  it("reports a plugin that prints garbage or crashes without JSON", async () => {
    await fake.failOn("fakebr", "ADD", "segfault somewhere");
    const err = await expectRejection(makeRunner().setupPodNetwork(request()));
    expect((err as Error).message).to.equal(
      "CNI plugin fakebr (network fakenet) ADD failed: exit status 1: segfault somewhere",
    );
  });

  it("keeps the cache when DEL fails so a later teardown retries", async () => {
    const runner = makeRunner();
    await runner.setupPodNetwork(request());
    await fake.failOn("fakebr", "DEL", JSON.stringify({ code: 5, msg: "disk on fire" }));
    const err = await expectRejection(runner.teardownPodNetwork(request()));
    expect((err as Error).message).to.include(
      "fakebr (network fakenet) DEL failed (code 5): disk on fire",
    );
    expect(await fs.readdir(cacheDir)).to.deep.equal(["sb1-eth0.json"]);
    await fake.clearFailures();
    await runner.teardownPodNetwork(request());
    expect(await fs.readdir(cacheDir)).to.deep.equal([]);
  });

  it("answers a retried setup of the same sandbox from the cache, without a second ADD", async () => {
    const runner = makeRunner();
    await runner.setupPodNetwork(request());
    await fake.resetCalls();
    const again = await runner.setupPodNetwork(request());
    expect(again.ips).to.deep.equal(["10.9.0.2", "fd00:9::2"]);
    expect(await fake.calls()).to.deep.equal([]);
  });

  it("refuses setup when no config is usable or the netns is missing", async () => {
    await fs.writeFile(path.join(confDir, "10-fake.conflist"), "{");
    const runner = makeRunner();
    const readiness = await runner.readiness();
    expect(readiness.ready).to.equal(false);
    const err = await expectRejection(runner.setupPodNetwork(request()));
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect((err as Error).message).to.match(
      /^network not ready: no usable network config .*invalid JSON/,
    );
    await fs.writeFile(path.join(confDir, "10-fake.conflist"), conflist());
    expect(await runner.readiness()).to.deep.equal({
      ready: true,
      file: path.join(confDir, "10-fake.conflist"),
    });
    const missing = await expectRejection(
      runner.setupPodNetwork({ ...request(), netnsPath: path.join(fake.root, "nope") }),
    );
    expect(missing).to.be.instanceOf(FailedPreconditionError);
    expect(await fake.calls()).to.deep.equal([]);
  });

  it("runs CHECK in order with the cached result; skips it for 0.3.1 lists", async () => {
    const runner = makeRunner();
    expect(await expectRejection(runner.checkPodNetwork(request()))).to.be.instanceOf(
      NotFoundError,
    );
    await runner.setupPodNetwork(request());
    await fake.resetCalls();
    await runner.checkPodNetwork(request());
    const calls = byChain(await fake.calls());
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).to.deep.equal([
      "fakebr CHECK",
      "fakepm CHECK",
    ]);
    expect(calls[0]!.stdin["prevResult"]).to.deep.equal(resultB);
    await fake.failOn("fakepm", "CHECK", JSON.stringify({ code: 50, msg: "chain missing" }));
    const err = await expectRejection(runner.checkPodNetwork(request()));
    expect((err as Error).message).to.include(
      "fakepm (network fakenet) CHECK failed (code 50): chain missing",
    );
    await runner.teardownPodNetwork(request());

    await fs.writeFile(path.join(confDir, "10-fake.conflist"), conflist("0.3.1"));
    await runner.setupPodNetwork(request());
    await fake.resetCalls();
    await runner.checkPodNetwork(request());
    expect(await fake.calls()).to.deep.equal([]);
    await runner.teardownPodNetwork(request());
    const dels = byChain(await fake.calls());
    expect(dels.map((c) => `${c.plugin} ${c.command}`)).to.deep.equal([
      "fakepm DEL",
      "fakebr DEL",
      "loopback DEL",
    ]);
    expect(dels[0]!.stdin).to.not.have.property("prevResult");
  });

  it("fsyncs each cache entry once it holds the result, not the one written before ADD", async () => {
    // Counted on the FileHandle prototype node:fs/promises uses.
    const fh = await fs.open(fake.root, "r");
    const proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void> };
    await fh.close();
    const realSync = proto.sync;
    let syncs = 0;
    proto.sync = function (this: unknown) {
      syncs++;
      return realSync.call(this);
    };
    try {
      await makeRunner().setupPodNetwork(request());
    } finally {
      proto.sync = realSync;
    }
    // eth0 and lo: each entry with its result is fsynced, file and directory.
    expect(syncs).to.equal(4);
  });

  it("serializes operations on one sandbox", async () => {
    const runner = makeRunner();
    await Promise.all([runner.setupPodNetwork(request()), runner.teardownPodNetwork(request())]);
    const calls = byChain(await fake.calls());
    expect(calls.map((c) => `${c.plugin} ${c.command}`)).to.deep.equal([
      "loopback ADD",
      "fakebr ADD",
      "fakepm ADD",
      "fakepm DEL",
      "fakebr DEL",
      "loopback DEL",
    ]);
  });

  it("tells from the cached configs whether a pod's networks can be torn down without its netns", async () => {
    const runner = makeRunner();
    expect(await runner.deletesWithoutNetns("sb1"), "nothing attached").to.equal(true);
    await runner.setupPodNetwork(request());
    expect(await runner.deletesWithoutNetns("sb1"), "fakebr, fakepm").to.equal(false);
    await runner.teardownPodNetwork(request());

    // The same plugins under the names of the reference plugins del-without-netns.ts knows.
    const named = await FakePlugins.create(["bridge", "portmap", "loopback"]);
    try {
      const dir = path.join(named.root, "net.d");
      await fs.mkdir(dir);
      const list = (ipam: string) =>
        JSON.stringify({
          cniVersion: "1.0.0",
          name: "namednet",
          plugins: [
            { type: "bridge", bridge: "nbr0", ipam: { type: ipam } },
            { type: "portmap", capabilities: { portMappings: true } },
          ],
        });
      const namedRunner = new CniRunner({
        runner: new ProcessRunner(),
        logger: silentLogger(),
        confDirs: [dir],
        pluginDirs: [named.pluginDir],
        cacheDir,
        baseEnv: named.env(),
      });
      await fs.writeFile(path.join(dir, "10-named.conflist"), list("host-local"));
      await namedRunner.setupPodNetwork(request());
      expect(await namedRunner.deletesWithoutNetns("sb1"), "bridge + host-local").to.equal(true);
      // The config cached at ADD decides, not the one on disk now.
      await fs.writeFile(path.join(dir, "10-named.conflist"), list("dhcp"));
      expect(await namedRunner.deletesWithoutNetns("sb1")).to.equal(true);
      await namedRunner.teardownPodNetwork(request());
      await namedRunner.setupPodNetwork(request());
      expect(await namedRunner.deletesWithoutNetns("sb1"), "bridge + dhcp").to.equal(false);
      await namedRunner.teardownPodNetwork(request());
    } finally {
      await named.cleanup();
    }
  });
});
