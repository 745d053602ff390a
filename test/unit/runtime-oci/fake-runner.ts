// A CommandRunner that records calls and answers from a script, for the runtime-oci unit tests.
import type { CommandRunner, RunOptions, RunResult } from "../../../src/util/command.js";

export interface Call {
  file: string;
  args: string[];
  opts: RunOptions;
}

export type Reply = Partial<Omit<RunResult, "stdout" | "stderr">> & {
  stdout?: string;
  stderr?: string;
};

export class FakeRunner implements CommandRunner {
  readonly calls: Call[] = [];
  constructor(private readonly answer: (c: Call) => Reply | Promise<Reply>) {}

  async run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const call = { file, args: [...args], opts };
    this.calls.push(call);
    const r = await this.answer(call);
    return {
      code: r.code === undefined ? 0 : r.code,
      signal: r.signal ?? null,
      stdout: Buffer.from(r.stdout ?? ""),
      stderr: Buffer.from(r.stderr ?? ""),
      timedOut: r.timedOut ?? false,
      truncated: r.truncated ?? false,
    };
  }
}
