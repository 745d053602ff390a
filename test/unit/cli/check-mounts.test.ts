// berthd check's line on how berthd mounts: its own calls, or a WARN that each mount starts a
// mount(8) process.
import { expect } from "chai";
import { mountCallsLine } from "../../../src/cli/check/mounts.js";
import { ProcessRunner } from "../../../src/util/command.js";

describe("berthd check: mount calls", () => {
  it("OK when the runner makes mount(2) calls (koffi loads on this host)", () => {
    const line = mountCallsLine(new ProcessRunner());
    expect(line.level).to.equal("OK");
    expect(line.detail).to.match(/mount\(2\) and umount2\(2\) from berthd/);
  });

  it("WARN naming the mount(8) processes when it makes none", () => {
    const line = mountCallsLine(new ProcessRunner({ directMounts: false }));
    expect(line.level).to.equal("WARN");
    expect(line.detail).to.match(/each mount and unmount starts mount\(8\)/);
    expect(line.fix).to.match(/koffi/);
  });
});
