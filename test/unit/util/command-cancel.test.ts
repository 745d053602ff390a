import { expect } from "chai";
import { ProcessRunner } from "../../../src/util/command.js";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("ProcessRunner: the caller's cancellation reaches the child", () => {
  it("kills the child when the signal aborts, and says so", async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const running = new ProcessRunner().run("sh", ["-c", "echo $$; exec sleep 3600"], {
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 200);
    const res = await running;
    expect(Date.now() - t0).to.be.below(5000);
    expect(res.signal).to.equal("SIGKILL");
    expect(res.cancelled).to.equal(true);
    expect(res.timedOut).to.equal(false);
    expect(alive(Number(res.stdout.toString().trim()))).to.equal(false);
  });

  it("does not start work for a signal already aborted", async () => {
    const ac = new AbortController();
    ac.abort();
    const res = await new ProcessRunner().run("sleep", ["3600"], { signal: ac.signal });
    expect(res.cancelled).to.equal(true);
  });

  it("leaves a finished run alone", async () => {
    const ac = new AbortController();
    const res = await new ProcessRunner().run("true", [], { signal: ac.signal });
    ac.abort();
    expect([res.code, res.cancelled]).to.deep.equal([0, undefined]);
  });
});
