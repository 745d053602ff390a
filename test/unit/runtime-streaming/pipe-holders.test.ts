// pipe-holders: who else holds a child's stdout once the child is gone (what crun's exec leaves).
import { spawn } from "node:child_process";
import { expect } from "chai";
import {
  childOutputs,
  killPipeHolders,
  pipeHolders,
} from "../../../src/runtime/streaming/pipe-holders.js";

describe("pipe holders of an exec's output", function () {
  this.timeout(20_000);

  it("names a child's stdout and stderr at once, and nothing for /dev/null or no pid", async () => {
    const child = spawn("sleep", ["5"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const names = await childOutputs(child.pid);
      expect(names).to.have.length(1); // stderr is /dev/null
      expect(names[0]).to.match(/^(socket|pipe):\[\d+\]$/);
      expect(await childOutputs(undefined)).to.deep.equal([]);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("finds the background child that outlived its parent and ends it, so the output closes", async () => {
    // The shell lives a moment, as a runtime's exec does, so that its fds can be read.
    const child = spawn("sh", ["-c", "sleep 30 & echo $!; sleep 0.5"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const names = await childOutputs(child.pid);
    expect(names).to.have.length(2);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const closed = new Promise<void>((r) => child.once("close", () => r()));
    await new Promise<void>((r) => child.once("exit", () => r()));
    await new Promise((r) => setTimeout(r, 50));
    const bg = Number(out.trim());
    let done = false;
    void closed.then(() => (done = true));
    try {
      expect(await pipeHolders(names)).to.deep.equal([bg]);
      expect(done, "the background sleep still holds stdout").to.equal(false);
      expect(await killPipeHolders(names)).to.equal(1);
      await closed;
      expect(await pipeHolders(names)).to.deep.equal([]);
    } finally {
      try {
        process.kill(bg, "SIGKILL");
      } catch {
        // ended by the test
      }
    }
  });

  it("finds nobody for names no process holds", async () => {
    expect(await pipeHolders(["pipe:[1]"])).to.deep.equal([]);
    expect(await pipeHolders([])).to.deep.equal([]);
  });
});
