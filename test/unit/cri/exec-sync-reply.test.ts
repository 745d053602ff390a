import { expect } from "chai";
import { EXEC_SYNC_OUTPUT_BUDGET, fitExecOutput } from "../../../src/cri/exec-sync-reply.js";
import { MAX_MESSAGE_BYTES } from "../../../src/cri/server.js";

describe("ExecSync reply fitting", () => {
  const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

  it("leaves output that fits alone", () => {
    const r = fitExecOutput(bytes(10, 1), bytes(5, 2), 20);
    expect(r.truncated).to.equal(false);
    expect(r.stdout.length + r.stderr.length).to.equal(15);
  });

  it("shares the budget: halves when both overflow, the rest to the one that needs it", () => {
    expect(lengths(fitExecOutput(bytes(100, 1), bytes(100, 2), 20))).to.deep.equal([10, 10]);
    expect(lengths(fitExecOutput(bytes(100, 1), bytes(3, 2), 20))).to.deep.equal([17, 3]);
    expect(lengths(fitExecOutput(bytes(4, 1), bytes(100, 2), 20))).to.deep.equal([4, 16]);
    expect(lengths(fitExecOutput(bytes(100, 1), bytes(0, 2), 21))).to.deep.equal([21, 0]);
    const r = fitExecOutput(bytes(100, 1), bytes(100, 2), 21);
    expect(r.truncated).to.equal(true);
    expect(r.stdout.every((b) => b === 1) && r.stderr.every((b) => b === 2)).to.equal(true);
    expect(r.stdout.length + r.stderr.length).to.equal(21);
  });

  it("the default budget stays under the 16 MiB message limit", () => {
    expect(EXEC_SYNC_OUTPUT_BUDGET).to.be.below(MAX_MESSAGE_BYTES - 32);
  });
});

function lengths(r: { stdout: Buffer; stderr: Buffer }): [number, number] {
  return [r.stdout.length, r.stderr.length];
}
