import { expect } from "chai";
import {
  criLogLines,
  parseCriLog,
  parseCriLogLine,
  parseRfc3339Nano,
} from "../../../src/runtime/oci/cri-log.js";

describe("runtime-oci: CRI log parsing", () => {
  it("parses conmon's lines (numeric offset) and kubelet's (Z)", () => {
    const text =
      "2026-11-28T00:16:55.123456789+00:00 stdout F out\n" +
      "2016-10-06T00:17:09.669794202Z stderr F err with  two spaces\n";
    expect(parseCriLog(text)).to.deep.equal([
      {
        time: "2026-11-28T00:16:55.123456789+00:00",
        timeNs: BigInt(Date.UTC(2026, 10, 28, 0, 16, 55)) * 1_000_000n + 123_456_789n,
        stream: "stdout",
        partial: false,
        content: "out",
      },
      {
        time: "2016-10-06T00:17:09.669794202Z",
        timeNs: 1475713029669794202n,
        stream: "stderr",
        partial: false,
        content: "err with  two spaces",
      },
    ]);
  });

  it("joins partial entries per stream, keeps empty lines and extra tags", () => {
    const text =
      "2024-01-01T00:00:00.000000001Z stdout P hel\n" +
      "2024-01-01T00:00:00.000000002Z stderr F other\n" +
      "2024-01-01T00:00:00.000000003Z stdout P:x lo \n" +
      "2024-01-01T00:00:00.000000004Z stdout F world\n" +
      "2024-01-01T00:00:00.000000005Z stdout F \n";
    const entries = parseCriLog(text);
    expect(entries.map((e) => e.partial)).to.deep.equal([true, false, true, false, false]);
    expect(criLogLines(entries)).to.deep.equal([
      { stream: "stderr", line: "other" },
      { stream: "stdout", line: "hello world" },
      { stream: "stdout", line: "" },
    ]);
  });

  it("skips malformed lines and an unterminated tail", () => {
    const text =
      "garbage\n" +
      "2024-01-01T00:00:00Z stdin F nope\n" +
      "2024-01-01T00:00:00Z stdout X nope\n" +
      "2024-01-01T00:00:00Z stdout F ok\n" +
      "2024-01-01T00:00:00Z stdout F half-writ";
    expect(parseCriLog(text).map((e) => e.content)).to.deep.equal(["ok"]);
    expect(parseCriLogLine("2024-01-01T00:00:00Z stdout F")?.content).to.equal("");
  });

  it("converts RFC 3339 times exactly, offsets included", () => {
    expect(parseRfc3339Nano("1970-01-01T00:00:00Z")).to.equal(0n);
    expect(parseRfc3339Nano("1970-01-01T01:00:00.5+01:00")).to.equal(500_000_000n);
    expect(parseRfc3339Nano("1969-12-31T19:00:00.000000001-05:00")).to.equal(1n);
    expect(parseRfc3339Nano("2262-04-11T23:47:16.854775807Z")).to.equal(9223372036854775807n);
    expect(parseRfc3339Nano("yesterday")).to.equal(undefined);
    expect(parseCriLogLine("notatime stdout F x")?.timeNs).to.equal(undefined);
  });
});
