// Real CNI plugins (bridge, host-local, loopback, portmap from /usr/lib/cni) on a bridge and a
// private /24 that each test owns. Needs root.
import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { randomInt } from "node:crypto";
import { CniPluginError } from "../../../src/network/cni-result.js";
import { listNetns, removeNetns } from "../../../src/network/netns.js";
import { NetFixture, integrationSkipReason } from "./net-fixture.js";

function tcpRead(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let data = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${host}:${port}`));
    }, timeoutMs);
    sock.on("data", (c: Buffer) => (data += c.toString("utf8")));
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

function inSubnet(ip: string, third: number): boolean {
  return new RegExp(`^10\\.251\\.${third}\\.\\d+$`).test(ip);
}

describe("network/cni (real plugins)", function () {
  this.timeout(180_000);
  let f: NetFixture | undefined;

  before(async function () {
    const why = await integrationSkipReason();
    if (why !== undefined) {
      console.log(`skipping CNI integration tests: ${why}`);
      this.skip();
    }
  });

  afterEach(async () => {
    await f?.cleanup();
    f = undefined;
  });

  it("creates and removes a netns file idempotently", async () => {
    f = await NetFixture.create();
    const req = f.request("solo");
    await f.createNetns(req);
    expect(await listNetns(f.netnsDir)).to.deep.equal([
      { name: req.sandboxId, path: req.netnsPath, mounted: true },
    ]);
    const links = await f.run("nsenter", [`--net=${req.netnsPath}`, "ip", "-o", "link"]);
    expect(links.trim().split("\n")).to.have.length(1);
    expect(links).to.match(/^1: lo:/);
    await removeNetns(f.runner, req.netnsPath);
    await removeNetns(f.runner, req.netnsPath);
    expect(await listNetns(f.netnsDir)).to.deep.equal([]);
  });

  it("gives two pods distinct addresses on the bridge, and they reach each other", async () => {
    f = await NetFixture.create();
    const a = f.request("a");
    const b = f.request("b");
    await f.createNetns(a);
    await f.createNetns(b);
    const [sa, sb] = await Promise.all([f.cni.setupPodNetwork(a), f.cni.setupPodNetwork(b)]);
    const ipA = sa.ips[0]!;
    const ipB = sb.ips[0]!;
    expect(sa.ips).to.have.length(1);
    expect(inSubnet(ipA, f.third), ipA).to.equal(true);
    expect(inSubnet(ipB, f.third), ipB).to.equal(true);
    expect(ipA).to.not.equal(ipB);
    expect(sa.interfaces.find((i) => i.sandbox !== undefined)?.name).to.equal("eth0");
    expect((await f.bridgePorts()).length).to.equal(2);
    expect((await f.reservations()).sort()).to.deep.equal([ipA, ipB].sort());

    // Loopback is up in the pod (the loopback network ran) and eth0 has the address.
    const addrs = await f.inPod(a, ["ip", "-o", "addr"]);
    expect(addrs).to.match(/lo\s+inet 127\.0\.0\.1\/8/);
    expect(addrs).to.match(new RegExp(`eth0\\s+inet ${ipA.replace(/\./g, "\\.")}/24 `));

    await f.inPod(a, ["ping", "-c", "1", "-W", "3", ipB]);
    await f.serveInPod(b, 7777, "hello-from-b");
    expect(await f.inPod(a, ["nc", "-w", "3", ipB, "7777"])).to.include("hello-from-b");

    await f.cni.teardownPodNetwork(a);
    await f.cni.teardownPodNetwork(b);
    expect(await f.bridgePorts()).to.deep.equal([]);
    expect(await f.reservations()).to.deep.equal([]);
    expect(await f.natLinesWith([a.sandboxId, b.sandboxId])).to.deep.equal([]);
    // A second DEL succeeds.
    await f.cni.teardownPodNetwork(a);
  });

  it("maps a host port on 127.0.0.1 to the pod with portmap; DEL removes the rules", async () => {
    f = await NetFixture.create();
    const hostPort = randomInt(20000, 40000);
    const p = f.request("pm", {
      portMappings: [{ hostPort, containerPort: 8080, protocol: "tcp", hostIP: "127.0.0.1" }],
    });
    await f.createNetns(p);
    const chainsBefore = await f.cniChains();
    await f.cni.setupPodNetwork(p);
    await f.serveInPod(p, 8080, "hello-via-portmap");
    const rules = await f.natLinesWith([p.sandboxId]);
    expect(
      rules.some((l) => l.startsWith("-A CNI-HOSTPORT-DNAT") && l.includes(String(hostPort))),
    ).to.equal(true);
    expect(await tcpRead("127.0.0.1", hostPort)).to.include("hello-via-portmap");

    await f.cni.teardownPodNetwork(p);
    expect(await f.natLinesWith([p.sandboxId])).to.deep.equal([]);
    const leftover = (await f.cniChains()).filter(
      (c) => !chainsBefore.includes(c) && !c.startsWith("CNI-HOSTPORT-"),
    );
    expect(leftover).to.deep.equal([]);
  });

  it("tears down after a restart when the netns is already gone", async () => {
    f = await NetFixture.create();
    const p = f.request("gone");
    await f.createNetns(p);
    const s = await f.cni.setupPodNetwork(p);
    expect(await f.reservations()).to.deep.equal(s.ips);
    await removeNetns(f.runner, p.netnsPath);
    await f.newRunner().teardownPodNetwork(p);
    expect(await f.reservations()).to.deep.equal([]);
    expect(await f.bridgePorts()).to.deep.equal([]);
    expect(await f.natLinesWith([p.sandboxId])).to.deep.equal([]);
  });

  it("leaves nothing behind after 20 create/delete cycles in parallel batches", async () => {
    f = await NetFixture.create();
    const fx = f;
    const chainsBefore = await fx.cniChains();
    const ids: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(
        Array.from({ length: 5 }, async (_, i) => {
          const hostPort = randomInt(20000, 40000);
          const req = fx.request(`c${batch}x${i}`, {
            portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }],
          });
          ids.push(req.sandboxId);
          await fx.createNetns(req);
          const s = await fx.cni.setupPodNetwork(req);
          expect(inSubnet(s.ips[0]!, fx.third)).to.equal(true);
          await fx.cni.teardownPodNetwork(req);
          await removeNetns(fx.runner, req.netnsPath);
        }),
      );
    }
    expect(ids).to.have.length(20);
    expect(await listNetns(fx.netnsDir)).to.deep.equal([]);
    expect(await fx.bridgePorts()).to.deep.equal([]);
    expect(await fx.reservations()).to.deep.equal([]);
    expect(await fx.natLinesWith(ids)).to.deep.equal([]);
    expect(
      (await fx.cniChains()).filter(
        (c) => !chainsBefore.includes(c) && !c.startsWith("CNI-HOSTPORT-"),
      ),
    ).to.deep.equal([]);
    expect(await fx.cni.attachedSandboxIds()).to.deep.equal([]);
  });

  it("cleans up and reports the plugin's error when a plugin of the chain fails", async () => {
    const fakeDir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-failplugin-"));
    try {
      await fs.writeFile(
        path.join(fakeDir, "failer"),
        '#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ]; then printf \'{"cniVersion":"1.0.0","code":7,"msg":"failer refuses","details":"on purpose"}\'; exit 1; fi\nexit 0\n',
        { mode: 0o755 },
      );
      f = await NetFixture.create(fakeDir);
      await f.writeConflist([{ type: "failer" }]);
      const p = f.request("fail");
      await f.createNetns(p);
      let caught: unknown;
      try {
        await f.cni.setupPodNetwork(p);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(CniPluginError);
      expect((caught as Error).message).to.equal(
        `CNI plugin failer (network ${f.networkName}) ADD failed (code 7): failer refuses; on purpose`,
      );
      expect(await f.bridgePorts()).to.deep.equal([]);
      expect(await f.reservations()).to.deep.equal([]);
      expect(await f.natLinesWith([p.sandboxId])).to.deep.equal([]);
      expect(await f.cni.attachedSandboxIds()).to.deep.equal([]);
      // The pod's eth0 is gone too: only lo remains in its netns.
      expect(
        (await f.run("nsenter", [`--net=${p.netnsPath}`, "ip", "-o", "link"])).trim().split("\n"),
      ).to.have.length(1);
    } finally {
      await f?.cleanup();
      f = undefined;
      await fs.rm(fakeDir, { recursive: true, force: true });
    }
  });

  it("CHECK passes on a healthy pod and fails once its veth is gone", async () => {
    f = await NetFixture.create();
    const p = f.request("chk");
    await f.createNetns(p);
    await f.cni.setupPodNetwork(p);
    await f.cni.checkPodNetwork(p);
    await f.run("nsenter", [`--net=${p.netnsPath}`, "ip", "link", "del", "eth0"]);
    let caught: unknown;
    try {
      await f.cni.checkPodNetwork(p);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(CniPluginError);
    expect((caught as Error).message).to.match(
      /CNI plugin bridge \(network bt-[0-9a-f]+\) CHECK failed/,
    );
    await f.cni.teardownPodNetwork(p);
    expect(await f.reservations()).to.deep.equal([]);
  });
});
