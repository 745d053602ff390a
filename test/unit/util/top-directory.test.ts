// markTopDirectory asks chattr for the `T` attribute and never fails the caller: a file system
// without the flag, or a host without chattr, leaves the directory as it was, with a debug line.
import { expect } from "chai";
import { PassThrough } from "node:stream";
import { createLogger } from "../../../src/log.js";
import type { CommandRunner, RunOptions, RunResult } from "../../../src/util/command.js";
import { markTopDirectory } from "../../../src/util/top-directory.js";

class ScriptedRunner implements CommandRunner {
  readonly calls: { file: string; args: readonly string[] }[] = [];
  constructor(private readonly outcome: { code: number; stderr?: string } | Error) {}
  async run(file: string, args: readonly string[], _opts?: RunOptions): Promise<RunResult> {
    this.calls.push({ file, args });
    if (this.outcome instanceof Error) throw this.outcome;
    return {
      code: this.outcome.code,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: Buffer.from(this.outcome.stderr ?? ""),
      timedOut: false,
      truncated: false,
    };
  }
}

/** A debug logger whose lines are kept. */
function capturingLogger() {
  const out = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  out.on("data", (c: Buffer) => {
    for (const l of c.toString("utf8").split("\n").filter(Boolean)) {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    }
  });
  return { log: createLogger("debug", out), lines };
}

describe("util/top-directory", () => {
  it("runs chattr +T on the directory", async () => {
    const runner = new ScriptedRunner({ code: 0 });
    const { log, lines } = capturingLogger();
    expect(await markTopDirectory(runner, "/var/lib/berth/snapshots", log)).to.equal(true);
    expect(runner.calls).to.deep.equal([
      { file: "chattr", args: ["+T", "/var/lib/berth/snapshots"] },
    ]);
    await new Promise((r) => setImmediate(r));
    expect(lines).to.have.length(0);
  });

  it("carries on, saying why at debug level, when the file system refuses the flag", async () => {
    const stderr = "chattr: Operation not supported while setting flags on /x";
    const runner = new ScriptedRunner({ code: 1, stderr });
    const { log, lines } = capturingLogger();
    expect(await markTopDirectory(runner, "/x", log)).to.equal(false);
    await new Promise((r) => setImmediate(r));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: 20, dir: "/x", reason: stderr });
  });

  it("carries on when chattr cannot be run at all", async () => {
    const runner = new ScriptedRunner(new Error("spawn chattr ENOENT"));
    const { log, lines } = capturingLogger();
    expect(await markTopDirectory(runner, "/x", log)).to.equal(false);
    await new Promise((r) => setImmediate(r));
    expect(lines).to.have.length(1);
    expect(String(lines[0]?.msg)).to.match(/cannot run chattr/);
  });
});
