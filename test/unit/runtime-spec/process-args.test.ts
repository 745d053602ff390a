import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  DEFAULT_PATH,
  mergeEnv,
  processArgs,
  processCwd,
  processEnv,
} from "../../../src/runtime/spec/process-args.js";
import { containerConfig } from "./fixtures.js";

describe("runtime/spec process args, env, cwd", () => {
  const image = { Entrypoint: ["/entry"], Cmd: ["default", "cmd"] };
  const argCases: { name: string; command: string[]; args: string[]; want: string[] }[] = [
    { name: "image entrypoint + cmd", command: [], args: [], want: ["/entry", "default", "cmd"] },
    { name: "args replace cmd", command: [], args: ["x"], want: ["/entry", "x"] },
    {
      name: "command replaces entrypoint and drops cmd",
      command: ["/bin/sh"],
      args: [],
      want: ["/bin/sh"],
    },
    {
      name: "command + args",
      command: ["/bin/sh", "-c"],
      args: ["echo hi"],
      want: ["/bin/sh", "-c", "echo hi"],
    },
  ];
  for (const c of argCases) {
    it(c.name, () => {
      expect(
        processArgs(containerConfig({ command: c.command, args: c.args }), image),
      ).to.deep.equal(c.want);
    });
  }

  it("uses Cmd alone when the image has no Entrypoint", () => {
    expect(processArgs(containerConfig(), { Cmd: ["sh"], Entrypoint: null })).to.deep.equal(["sh"]);
  });

  it("rejects an empty command line", () => {
    expect(() => processArgs(containerConfig(), {}))
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.command");
  });

  it("merges env: base, image, request; later wins by key in place", () => {
    const config = containerConfig({
      tty: true,
      envs: [
        { key: "FOO", value: Buffer.from("from-request") },
        { key: "NEW", value: Buffer.from("a=b") },
      ],
    });
    const env = processEnv(config, { Env: ["PATH=/image/bin", "FOO=from-image", "KEEP=1"] }, "web");
    expect(env).to.deep.equal([
      "PATH=/image/bin",
      "HOSTNAME=web",
      "TERM=xterm",
      "FOO=from-request",
      "KEEP=1",
      "NEW=a=b",
    ]);
  });

  it("gives a default PATH and no TERM without a tty", () => {
    expect(processEnv(containerConfig(), {}, "")).to.deep.equal([`PATH=${DEFAULT_PATH}`]);
  });

  it("rejects env keys containing '='", () => {
    const config = containerConfig({ envs: [{ key: "A=B", value: Buffer.from("x") }] });
    expect(() => processEnv(config, {}, "h"))
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.envs[0].key");
  });

  it("mergeEnv keeps entries without '=' as keys", () => {
    expect(mergeEnv(["A=1", "B"], ["A=2"])).to.deep.equal(["A=2", "B"]);
  });

  it("picks the working dir: request, image, then /", () => {
    expect(
      processCwd(containerConfig({ working_dir: "/req/../work" }), { WorkingDir: "/img" }),
    ).to.equal("/work");
    expect(processCwd(containerConfig(), { WorkingDir: "/img" })).to.equal("/img");
    expect(processCwd(containerConfig(), { WorkingDir: "rel" })).to.equal("/rel");
    expect(processCwd(containerConfig(), {})).to.equal("/");
    expect(() => processCwd(containerConfig({ working_dir: "relative" }), {}))
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.working_dir");
  });
});
