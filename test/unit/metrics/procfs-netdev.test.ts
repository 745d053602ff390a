import { expect } from "chai";
import * as path from "node:path";
import { InvalidArgumentError } from "../../../src/errors.js";
import { parseNetDev, readNetDev } from "../../../src/metrics/netdev.js";
import {
  parsePidList,
  parseStatusThreads,
  readCgroupProcessCounts,
} from "../../../src/metrics/procfs.js";
import { FIXTURES } from "../cgroup/fixture-paths.js";

const PROC = path.join(FIXTURES, "proc");
const V1_PIDS_DIR = path.join(FIXTURES, "v1", "pids", "kubepods", "pod123", "abc");
const V2_DIR = path.join(
  FIXTURES,
  "v2",
  "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice/cri-berth-abc.scope",
);

describe("metrics: procfs counts", () => {
  it("counts live processes, threads from v1 tasks, and fds", async () => {
    // cgroup.procs lists 101, 102 and 999; 999 has no /proc entry (exited).
    expect(await readCgroupProcessCounts(V1_PIDS_DIR, { procRoot: PROC })).to.deep.equal({
      processes: 2,
      threads: 5, // lines of `tasks`
      fds: 3 + 7,
    });
  });

  it("sums Threads from /proc/<pid>/status when the cgroup has no thread listing", async () => {
    expect(await readCgroupProcessCounts(V2_DIR, { procRoot: PROC })).to.deep.equal({
      processes: 2,
      threads: 1 + 3,
      fds: 10,
    });
    expect(await readCgroupProcessCounts(V2_DIR, { procRoot: PROC, fds: false })).to.deep.equal({
      processes: 2,
      threads: 4,
      fds: 0,
    });
  });

  it("returns undefined for a vanished cgroup", async () => {
    expect(
      await readCgroupProcessCounts(path.join(FIXTURES, "v2", "gone"), { procRoot: PROC }),
    ).to.equal(undefined);
  });

  it("parses pid lists and status", () => {
    expect(parsePidList("1\n22\n\nx\n333\n")).to.deep.equal([1, 22, 333]);
    expect(parseStatusThreads("Name:\tsh\nThreads:\t12\nSigQ:\t0/1\n")).to.equal(12);
    expect(parseStatusThreads("Name:\tsh\n")).to.equal(undefined);
  });
});

describe("metrics: /proc/<pid>/net/dev", () => {
  const eth0 = {
    name: "eth0",
    rxBytes: 9007199254740993n,
    rxPackets: 7418n,
    rxErrors: 2n,
    rxDropped: 1n,
    txBytes: 551641n,
    txPackets: 4757n,
    txErrors: 3n,
    txDropped: 4n,
  };

  it("reads a process's namespace counters, optionally without lo", async () => {
    const all = await readNetDev(101, { procRoot: PROC });
    expect(all?.map((i) => i.name)).to.deep.equal(["lo", "eth0"]);
    expect(all?.[0]).to.deep.equal({
      name: "lo",
      rxBytes: 3193n,
      rxPackets: 29n,
      rxErrors: 0n,
      rxDropped: 0n,
      txBytes: 3193n,
      txPackets: 29n,
      txErrors: 0n,
      txDropped: 0n,
    });
    expect(await readNetDev(101, { procRoot: PROC, excludeLoopback: true })).to.deep.equal([eth0]);
  });

  it("returns undefined for a gone process and refuses a non-pid", async () => {
    expect(await readNetDev(999, { procRoot: PROC })).to.equal(undefined);
    let err: unknown;
    try {
      await readNetDev(0, { procRoot: PROC });
    } catch (e: unknown) {
      err = e;
    }
    expect(err).to.be.instanceOf(InvalidArgumentError);
  });

  it("parses the old format without a space after the colon and skips short lines", () => {
    const text =
      "Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n" +
      "  eth1:10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n" +
      "  bad: 1 2 3\n";
    expect(parseNetDev(text)).to.deep.equal([
      {
        name: "eth1",
        rxBytes: 10n,
        rxPackets: 1n,
        rxErrors: 0n,
        rxDropped: 0n,
        txBytes: 20n,
        txPackets: 2n,
        txErrors: 0n,
        txDropped: 0n,
      },
    ]);
  });
});
