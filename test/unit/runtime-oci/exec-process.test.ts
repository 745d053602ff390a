import { expect } from "chai";
import { buildExecProcess, mergeEnv } from "../../../src/runtime/oci/exec-process.js";

describe("runtime-oci: exec process.json", () => {
  const containerProcess = {
    terminal: true,
    consoleSize: { height: 10, width: 10 },
    user: { uid: 1000, gid: 1000, additionalGids: [5] },
    args: ["/app"],
    env: ["PATH=/bin", "FOO=image"],
    cwd: "/work",
    capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] },
    noNewPrivileges: true,
    apparmorProfile: "berth-default",
  };

  it("keeps the container's security settings, replaces args, never a terminal", () => {
    const p = buildExecProcess(containerProcess, { args: ["/bin/sh", "-c", "true"] });
    expect(p).to.deep.equal({
      terminal: false,
      user: { uid: 1000, gid: 1000, additionalGids: [5] },
      args: ["/bin/sh", "-c", "true"],
      env: ["PATH=/bin", "FOO=image"],
      cwd: "/work",
      capabilities: containerProcess.capabilities,
      noNewPrivileges: true,
      apparmorProfile: "berth-default",
    });
    expect(containerProcess.args).to.deep.equal(["/app"]); // not mutated
  });

  it("applies the request's env, cwd and user", () => {
    const p = buildExecProcess(containerProcess, {
      args: ["x"],
      env: ["FOO=req", "NEW=1"],
      cwd: "/tmp",
      user: { uid: 0, gid: 0 },
    });
    expect(p.env).to.deep.equal(["PATH=/bin", "FOO=req", "NEW=1"]);
    expect(p.cwd).to.equal("/tmp");
    expect(p.user).to.deep.equal({ uid: 0, gid: 0 });
  });

  it("works without a container process and refuses an empty command", () => {
    expect(buildExecProcess(undefined, { args: ["ls"] })).to.deep.equal({
      terminal: false,
      args: ["ls"],
      env: [],
      cwd: "/",
      user: { uid: 0, gid: 0 },
    });
    expect(() => buildExecProcess(undefined, { args: [] })).to.throw(/cmd/);
    expect(() => buildExecProcess(undefined, { args: [""] })).to.throw(/cmd/);
  });

  it("mergeEnv: later wins, first position kept, bare names allowed", () => {
    expect(mergeEnv(["A=1", "B=2", "C"], ["B=3", "C=4", "D=5"])).to.deep.equal([
      "A=1",
      "B=3",
      "C=4",
      "D=5",
    ]);
  });
});
