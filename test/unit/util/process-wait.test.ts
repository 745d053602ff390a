import { spawn } from "node:child_process";
import { once } from "node:events";
import { expect } from "chai";
import { waitProcessGone } from "../../../src/util/process-wait.js";

describe("waitProcessGone", () => {
  it("resolves true once the process is gone", async () => {
    const child = spawn("sleep", ["3600"]);
    const pid = child.pid!;
    setTimeout(() => child.kill("SIGKILL"), 50);
    await once(child, "exit");
    expect(await waitProcessGone(pid, 2000)).to.equal(true);
  });

  it("resolves false for a process still there after the wait", async () => {
    expect(await waitProcessGone(process.pid, 100)).to.equal(false);
  });
});
