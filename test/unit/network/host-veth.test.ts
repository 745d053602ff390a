import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readHostVethStats } from "../../../src/metrics/netdev.js";
import { hostVethOf, removeLeftoverHostVeth } from "../../../src/network/host-veth.js";
import type { CommandRunner, RunResult } from "../../../src/util/command.js";

describe("network: the host end of a pod's veth", () => {
  let sys: string;

  async function link(name: string, index: number, iflink: number, stats = {}): Promise<void> {
    const dir = path.join(sys, name);
    await fs.mkdir(path.join(dir, "statistics"), { recursive: true });
    await fs.writeFile(path.join(dir, "ifindex"), `${index}\n`);
    await fs.writeFile(path.join(dir, "iflink"), `${iflink}\n`);
    for (const [k, v] of Object.entries(stats)) {
      await fs.writeFile(path.join(dir, "statistics", k), `${String(v)}\n`);
    }
  }

  beforeEach(async () => {
    sys = await fs.mkdtemp(path.join(os.tmpdir(), "berth-veth-"));
  });
  afterEach(async () => {
    await fs.rm(sys, { recursive: true, force: true });
  });

  it("picks the one host-side interface paired with a peer, not the bridge", async () => {
    await link("cni0", 5, 5); // a bridge: its iflink is itself
    await link("veth1a2b", 9, 3); // paired with the pod's eth0 (index 3 in the pod's netns)
    const result = [
      { name: "cni0", mac: "aa" },
      { name: "veth1a2b", mac: "bb" },
      { name: "eth0", mac: "cc", sandbox: "/run/netns/x" },
    ];
    expect(await hostVethOf(result, sys)).to.deep.equal({ host: "veth1a2b", pod: "eth0" });
  });

  it("names none when the shape is not one veth for one pod interface", async () => {
    await link("veth1", 9, 3);
    await link("veth2", 10, 4);
    const two = [{ name: "veth1" }, { name: "veth2" }, { name: "eth0", sandbox: "/n" }];
    expect(await hostVethOf(two, sys)).to.equal(undefined);
    // ipvlan/macvlan: nothing on the host side at all.
    expect(await hostVethOf([{ name: "eth0", sandbox: "/n" }], sys)).to.equal(undefined);
    // A name that is not in /sys/class/net (gone already) is not taken.
    expect(await hostVethOf([{ name: "vethgone" }, { name: "eth0", sandbox: "/n" }], sys)).to.equal(
      undefined,
    );
    // Two pod interfaces (a second network): one veth cannot stand for both.
    const pods = [
      { name: "veth1" },
      { name: "eth0", sandbox: "/n" },
      { name: "net1", sandbox: "/n" },
    ];
    expect(await hostVethOf(pods, sys)).to.equal(undefined);
  });

  it("reads the counters mirrored: what the host end received, the pod sent", async () => {
    await link("veth1", 9, 3, {
      rx_bytes: 100,
      rx_packets: 2,
      rx_errors: 0,
      rx_dropped: 1,
      tx_bytes: 5000,
      tx_packets: 40,
      tx_errors: 3,
      tx_dropped: 4,
    });
    expect(await readHostVethStats({ host: "veth1", pod: "eth0" }, sys)).to.deep.equal({
      name: "eth0",
      rxBytes: 5000n,
      rxPackets: 40n,
      rxErrors: 3n,
      rxDropped: 4n,
      txBytes: 100n,
      txPackets: 2n,
      txErrors: 0n,
      txDropped: 1n,
    });
    expect(await readHostVethStats({ host: "vethgone", pod: "eth0" }, sys)).to.equal(undefined);
    expect(await readHostVethStats({ host: "../veth1", pod: "eth0" }, sys)).to.equal(undefined);
  });

  describe("a host end left after its netns was released", () => {
    /** Runs nothing real: records the call and, when `removes`, deletes the fake link dir. */
    function runner(calls: string[], removes: boolean, code = 0): CommandRunner {
      return {
        run: async (file, args) => {
          calls.push([file, ...args].join(" "));
          if (removes) await fs.rm(path.join(sys, args[2] ?? ""), { recursive: true });
          const empty = Buffer.alloc(0);
          const stderr = Buffer.from(
            code === 0 ? "" : "RTNETLINK answers: Operation not permitted",
          );
          return { code, signal: null, stdout: empty, stderr, timedOut: false, truncated: false };
        },
      } satisfies { run: (...a: Parameters<CommandRunner["run"]>) => Promise<RunResult> };
    }

    it("does nothing when the kernel already dropped it (or drops it while it waits)", async () => {
      const calls: string[] = [];
      expect(await removeLeftoverHostVeth(runner(calls, true), "vethgone", sys, 1)).to.equal(false);
      await link("vethgoing", 7, 8);
      const going = removeLeftoverHostVeth(runner(calls, true), "vethgoing", sys, 50);
      setTimeout(() => void fs.rm(path.join(sys, "vethgoing"), { recursive: true }), 10);
      expect(await going).to.equal(false);
      expect(calls).to.deep.equal([]);
    });

    it("deletes one that stays, and fails when it cannot", async () => {
      const calls: string[] = [];
      await link("vethheld", 7, 8);
      expect(await removeLeftoverHostVeth(runner(calls, true), "vethheld", sys, 1)).to.equal(true);
      expect(calls).to.deep.equal(["ip link delete vethheld"]);
      await link("vethstuck", 9, 10);
      const err = await removeLeftoverHostVeth(runner(calls, false, 2), "vethstuck", sys, 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String(err)).to.include("cannot delete the pod's leftover veth vethstuck");
    });
  });
});
