import { expect } from "chai";
import { cpuSharesToWeight, cpuWeightToShares } from "../../../src/cgroup/index.js";
import { parseCpuacctUsageAll, parseCpuMax } from "../../../src/cgroup/parse-cpu.js";
import { blkioHasDevices, parseBlkioV1, parseIoStatV2 } from "../../../src/cgroup/parse-io.js";
import { parsePressure } from "../../../src/cgroup/parse-pressure.js";
import {
  limitValue,
  parseFlatKeyed,
  parseMaxOrUnsigned,
  parseSmallInt,
  parseUnsigned,
  parseUnsignedList,
  parseV1Limit,
} from "../../../src/cgroup/parse-values.js";

describe("cgroup: value parsers", () => {
  it("parses unsigned values exactly beyond 2^53", () => {
    expect(parseUnsigned("18446744073709551615\n")).to.equal(18446744073709551615n);
    expect(parseUnsigned("-1")).to.equal(undefined);
    expect(parseUnsigned("max")).to.equal(undefined);
    expect(parseUnsigned("")).to.equal(undefined);
    expect(parseUnsigned(undefined)).to.equal(undefined);
  });

  it("parses small signed settings", () => {
    expect(parseSmallInt("-1\n")).to.equal(-1);
    expect(parseSmallInt("100000")).to.equal(100000);
    expect(parseSmallInt("9223372036854775807")).to.equal(undefined);
    expect(parseSmallInt("1.5")).to.equal(undefined);
  });

  it("treats v1 limits at LONG_MAX rounded to any page size as unlimited", () => {
    expect(parseV1Limit("9223372036854771712\n")).to.equal(undefined); // 4 KiB pages
    expect(parseV1Limit("9223372036854710272\n")).to.equal(undefined); // 64 KiB pages
    expect(parseV1Limit("9223372036854775807")).to.equal(undefined);
    expect(parseV1Limit("536870912\n")).to.equal(536870912n);
    expect(parseV1Limit("0")).to.equal(0n);
  });

  it("parses v2 max-or-number files", () => {
    expect(parseMaxOrUnsigned("max\n")).to.deep.equal({ kind: "max" });
    expect(parseMaxOrUnsigned("42\n")).to.deep.equal({ kind: "value", value: 42n });
    expect(parseMaxOrUnsigned("junk")).to.equal(undefined);
    expect(limitValue(parseMaxOrUnsigned("max"))).to.equal(undefined);
    expect(limitValue(parseMaxOrUnsigned("7"))).to.equal(7n);
  });

  it("parses flat keyed files, skipping lines that do not fit", () => {
    const m = parseFlatKeyed("a 1\nb 18446744073709551615\n\nnokey\nc x\n d 3\ne -1\n");
    expect([...m.entries()]).to.deep.equal([
      ["a", 1n],
      ["b", 18446744073709551615n],
    ]);
  });

  it("parses unsigned lists", () => {
    expect(parseUnsignedList("1 2 3 \n")).to.deep.equal([1n, 2n, 3n]);
    expect(parseUnsignedList("1 x")).to.equal(undefined);
  });
});

describe("cgroup: cpu parsers", () => {
  it("parses cpuacct.usage_all, filling offline CPUs with zero", () => {
    expect(parseCpuacctUsageAll("cpu user system\n0 10 20\n2 30 40\n")).to.deep.equal([
      { userNs: 10n, systemNs: 20n },
      { userNs: 0n, systemNs: 0n },
      { userNs: 30n, systemNs: 40n },
    ]);
    expect(parseCpuacctUsageAll("not the header\n0 1 2\n")).to.equal(undefined);
  });

  it("parses cpu.max", () => {
    expect(parseCpuMax("max 100000\n")).to.deep.equal({ quota: -1, period: 100000 });
    expect(parseCpuMax("25000 50000\n")).to.deep.equal({ quota: 25000, period: 50000 });
    expect(parseCpuMax("max")).to.equal(undefined);
  });

  it("converts cpu.weight to shares as cAdvisor does, and shares to weight as runc does", () => {
    expect(cpuWeightToShares(1)).to.equal(2);
    expect(cpuWeightToShares(39)).to.equal(998);
    expect(cpuWeightToShares(100)).to.equal(2597);
    expect(cpuWeightToShares(10000)).to.equal(262144);
    expect(cpuWeightToShares(0)).to.equal(undefined);
    expect(cpuWeightToShares(10001)).to.equal(undefined);
    expect(cpuSharesToWeight(0)).to.equal(0);
    expect(cpuSharesToWeight(2)).to.equal(1);
    expect(cpuSharesToWeight(1024)).to.equal(39);
    expect(cpuSharesToWeight(262144)).to.equal(10000);
    expect(cpuSharesToWeight(1)).to.equal(1);
  });
});

describe("cgroup: io parsers", () => {
  it("merges v1 bytes and operations files per device", () => {
    const bytes =
      "8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 300\nTotal 300\n";
    const ops = "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\n8:16 Read 9\nTotal 12\n";
    expect(parseBlkioV1(bytes, ops)).to.deep.equal([
      { major: 8, minor: 0, readBytes: 100n, writeBytes: 200n, reads: 1n, writes: 2n },
      { major: 8, minor: 16, readBytes: 0n, writeBytes: 0n, reads: 9n, writes: 0n },
    ]);
    expect(blkioHasDevices("Total 0\n")).to.equal(false);
    expect(blkioHasDevices(bytes)).to.equal(true);
    expect(blkioHasDevices(undefined)).to.equal(false);
  });

  it("parses v2 io.stat, ignoring unknown keys and junk", () => {
    const text =
      "259:0 rbytes=5 wbytes=6 rios=7 wios=8 dbytes=9 dios=10 cost.usage=3\nnot-a-device x=1\n8:0 rbytes=x\n";
    expect(parseIoStatV2(text)).to.deep.equal([
      { major: 259, minor: 0, readBytes: 5n, writeBytes: 6n, reads: 7n, writes: 8n },
      { major: 8, minor: 0, readBytes: 0n, writeBytes: 0n, reads: 0n, writes: 0n },
    ]);
  });
});

describe("cgroup: pressure parser", () => {
  it("parses some and full totals", () => {
    expect(
      parsePressure(
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=2\n",
      ),
    ).to.deep.equal({ some: { totalUs: 1n }, full: { totalUs: 2n } });
    expect(parsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n")).to.deep.equal({
      some: { totalUs: 5n },
    });
    expect(parsePressure("full avg10=0.00 total=5\n")).to.equal(undefined);
    expect(parsePressure("")).to.equal(undefined);
  });
});
