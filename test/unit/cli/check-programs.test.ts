// berthd check's program lines: found on PATH and asked for a version, or WARN/FAIL with the
// package to install. chattr (the snapshot store's placement hint) is only looked for.
import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { programLines } from "../../../src/cli/check/programs.js";
import { defaultConfig } from "../../../src/config/config.js";
import type { CommandRunner, RunOptions, RunResult } from "../../../src/util/command.js";

class VersionRunner implements CommandRunner {
  readonly ran: string[] = [];
  async run(file: string, _args: readonly string[], _o?: RunOptions): Promise<RunResult> {
    this.ran.push(path.basename(file));
    return {
      code: 0,
      signal: null,
      stdout: Buffer.from(`${path.basename(file)} version 1.0\n`),
      stderr: Buffer.alloc(0),
      timedOut: false,
      truncated: false,
    };
  }
}

describe("berthd check: programs", () => {
  let dir: string;
  let savedPath: string | undefined;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-check-path-"));
    savedPath = process.env.PATH;
    process.env.PATH = dir;
  });

  afterEach(async () => {
    process.env.PATH = savedPath;
    await fs.rm(dir, { recursive: true, force: true });
  });

  const lineOf = async (item: string, runner: CommandRunner) => {
    const config = { ...defaultConfig(), conmon_path: path.join(dir, "conmon") };
    const lines = await programLines(config, runner);
    return lines.find((l) => l.item === item);
  };

  it("chattr missing: WARN naming what it is for and e2fsprogs", async () => {
    const line = await lineOf("chattr", new VersionRunner());
    expect(line?.level).to.equal("WARN");
    expect(line?.detail).to.match(/chattr not found on PATH: .*block groups/);
    expect(line?.fix).to.equal("apt install e2fsprogs");
  });

  it("chattr found: OK with its path, and it is not run", async () => {
    await fs.writeFile(path.join(dir, "chattr"), "#!/bin/sh\n", { mode: 0o755 });
    await fs.writeFile(path.join(dir, "socat"), "#!/bin/sh\n", { mode: 0o755 });
    const runner = new VersionRunner();
    const line = await lineOf("chattr", runner);
    expect(line?.level).to.equal("OK");
    expect(line?.detail).to.equal(path.join(dir, "chattr"));
    expect(runner.ran).to.include("socat"); // asked for its version
    expect(runner.ran).to.not.include("chattr");
  });
});
