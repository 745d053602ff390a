// Version, Status, RuntimeConfig and UpdateRuntimeConfig as kubelet reads them.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { Berthd } from "../support/berthd.js";

const CONFLIST = {
  cniVersion: "1.0.0",
  name: "testnet",
  plugins: [
    { type: "bridge", bridge: "bt-unused", ipam: { type: "host-local", subnet: "10.250.0.0/24" } },
  ],
};

describe("runtime info RPCs", function () {
  let berthd: Berthd;
  beforeEach(async () => {
    berthd = await Berthd.start();
  });
  afterEach(async () => {
    await berthd?.cleanup();
  });

  it("Version names berth and CRI v1", async () => {
    const v = await berthd.client.call.Version({ version: "0.1.0" });
    expect(v.version).to.equal("0.1.0");
    expect(v.runtime_name).to.equal("berth");
    expect(v.runtime_version).to.match(/^\d+\.\d+\.\d+/);
    expect(v.runtime_api_version).to.equal("v1");
  });

  it("Status reports RuntimeReady, handlers with features, and the config when verbose", async () => {
    const s = await berthd.client.call.Status({ verbose: true });
    const conds = Object.fromEntries(s.status!.conditions.map((c) => [c.type, c]));
    expect(conds.RuntimeReady?.status).to.equal(true);
    const names = s.runtime_handlers.map((h) => h.name);
    expect(names).to.include("");
    expect(names).to.include("runc");
    // critest runs the rro-mount and user-namespace specs only for a handler that claims them:
    // runc 1.1 and crun 1.8 (Debian 12) have neither, and berth makes no user namespaces.
    const probes = JSON.parse(s.info.runtimeHandlers!) as { name: string; version: string }[];
    const version = (name: string) => probes.find((p) => p.name === name)?.version ?? "";
    const defaultName = s.info.defaultRuntimeHandler!;
    for (const h of s.runtime_handlers) {
      const v = version(h.name === "" ? defaultName : h.name);
      expect(v, h.name).to.not.equal("");
      if (/^(runc version 1\.1\.|crun version 1\.8)/.test(v)) {
        expect(h.features, `${h.name}: ${v}`).to.deep.equal({
          recursive_read_only_mounts: false,
          user_namespaces: false,
        });
      }
      expect(h.features?.user_namespaces, h.name).to.equal(false);
    }
    expect(s.features?.supplemental_groups_policy).to.equal(true);
    const cfg = JSON.parse(s.info.config!) as { listen: string; root: string };
    expect(cfg.listen).to.equal(berthd.socket);
    expect(cfg.root).to.equal(berthd.root);
    const plain = await berthd.client.call.Status({ verbose: false });
    expect(plain.info).to.deep.equal({});
  });

  it("never offers a handler that cannot run containers here", async () => {
    const s = await berthd.client.call.Status({ verbose: true });
    const probes = JSON.parse(s.info.runtimeHandlers!) as {
      name: string;
      ok: boolean;
      reason: string;
    }[];
    const offered = new Set(s.runtime_handlers.map((h) => h.name));
    for (const p of probes) {
      expect(offered.has(p.name), `${p.name}: ${p.reason}`).to.equal(p.ok);
      if (!p.ok) expect(p.reason).to.not.equal("");
    }
    const def = s.info.defaultRuntimeHandler!;
    expect(probes.find((p) => p.name === def)?.ok).to.equal(true);
  });

  it("NetworkReady is false with NetworkPluginNotReady until a CNI conflist appears", async () => {
    const before = await berthd.client.call.Status({});
    const net = before.status!.conditions.find((c) => c.type === "NetworkReady")!;
    expect(net.status).to.equal(false);
    expect(net.reason).to.equal("NetworkPluginNotReady");
    expect(net.message).to.include(berthd.cniConfDir);
    await fs.mkdir(berthd.cniConfDir, { recursive: true });
    await fs.writeFile(path.join(berthd.cniConfDir, "10-test.conflist"), JSON.stringify(CONFLIST));
    const after = await berthd.client.call.Status({});
    const net2 = after.status!.conditions.find((c) => c.type === "NetworkReady")!;
    expect(net2.status, net2.message).to.equal(true);
    expect(net2.reason).to.equal("");
  });

  it("RuntimeConfig reports the cgroupfs driver", async () => {
    const rc = await berthd.client.call.RuntimeConfig({});
    expect(rc.linux?.cgroup_driver).to.equal("CGROUPFS");
  });

  it("UpdateRuntimeConfig stores the pod CIDR across a restart and rejects garbage", async () => {
    await berthd.client.call.UpdateRuntimeConfig({
      runtime_config: { network_config: { pod_cidr: "10.244.3.0/24" } },
    });
    let s = await berthd.client.call.Status({ verbose: true });
    expect(s.info.podCidr).to.equal("10.244.3.0/24");
    await berthd.stop();
    await berthd.launch();
    s = await berthd.client.call.Status({ verbose: true });
    expect(s.info.podCidr).to.equal("10.244.3.0/24");
    try {
      await berthd.client.call.UpdateRuntimeConfig({
        runtime_config: { network_config: { pod_cidr: "not-a-cidr" } },
      });
      expect.fail("accepted a bad CIDR");
    } catch (err) {
      const e = err as { code: number; details: string };
      expect(e.code).to.equal(status.INVALID_ARGUMENT);
      expect(e.details).to.include("pod_cidr");
    }
  });
});
