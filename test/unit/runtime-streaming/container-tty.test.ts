// container-tty: an exec's terminal resized through the exec'd process's fd, as crun needs.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import {
  containerTtyPath,
  resizeContainerTty,
} from "../../../src/runtime/streaming/container-tty.js";

describe("resizing an exec's terminal from outside", function () {
  this.timeout(20_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "berth-tty-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("sets the size of the terminal the process named in the pid file runs on", async () => {
    const { spawn: ptySpawn } = await import("@lydell/node-pty");
    const term = ptySpawn("sleep", ["30"], { cols: 80, rows: 24, name: "xterm" });
    try {
      // Until the child has exec'd sleep, its fds may not be the terminal's yet.
      for (
        let i = 0;
        i < 200 && !readFileSync(`/proc/${term.pid}/cmdline`, "utf8").startsWith("sleep");
        i++
      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const pidFile = path.join(dir, "pid");
      writeFileSync(pidFile, String(term.pid));
      const tty = await containerTtyPath(term.pid);
      expect(tty).to.equal(`/proc/${term.pid}/fd/0`);
      expect(await resizeContainerTty(pidFile, { width: 132, height: 43 })).to.equal(true);
      // the same terminal, seen from our side of the pty
      expect(execFileSync("stty", ["-F", tty!, "size"]).toString().trim()).to.equal("43 132");
      expect([term.cols, term.rows]).to.deep.equal([80, 24]); // node-pty's record is not ours
    } finally {
      term.kill("SIGKILL");
    }
  });

  it("does nothing for a process without a terminal, a missing pid file or a gone process", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const pidFile = path.join(dir, "pid");
      writeFileSync(pidFile, String(child.pid));
      expect(await containerTtyPath(child.pid!)).to.equal(undefined);
      expect(await resizeContainerTty(pidFile, { width: 100, height: 30 })).to.equal(false);
      expect(await resizeContainerTty(path.join(dir, "none"), { width: 1, height: 1 })).to.equal(
        false,
      );
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await gone;
      expect(await resizeContainerTty(pidFile, { width: 100, height: 30 })).to.equal(false);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
