import { expect } from "chai";
import {
  createFailure,
  parseRuntimeLog,
  runtimeCause,
} from "../../../src/runtime/oci/runtime-create-error.js";

// What runc 1.1 wrote with --log-format json for a command the image does not have.
const RUNC_LOG = [
  '{"level":"warning","msg":"cannot toggle freezer: cgroups not configured for container","time":"t"}',
  '{"level":"error","msg":"lstat : no such file or directory","time":"t"}',
  "not json at all",
  '{"level":"error","msg":"runc create failed: unable to start container process: exec: \\"/does-not-exist\\": stat /does-not-exist: no such file or directory","time":"t"}',
  "",
].join("\n");

describe("runtime create errors", () => {
  it("takes the runtime's last error as the cause", () => {
    const entries = parseRuntimeLog(RUNC_LOG);
    expect(entries).to.have.length(3);
    expect(runtimeCause(entries)).to.equal(
      'runc create failed: unable to start container process: exec: "/does-not-exist": stat /does-not-exist: no such file or directory',
    );
    expect(runtimeCause(parseRuntimeLog('{"level":"warning","msg":"w"}\n'))).to.equal(undefined);
  });

  it("reads crun's objects written back to back, braces in strings and all", () => {
    const crun =
      '{"msg":"warn {x}","level":"warning","time":"t"}' +
      '{"msg":"executable file `nope` not found in $PATH: No such file or directory","level":"error","time":"t"}';
    const entries = parseRuntimeLog(crun);
    expect(entries.map((e) => e.level)).to.deep.equal(["warning", "error"]);
    expect(entries[0]!.msg).to.equal("warn {x}");
    expect(runtimeCause(entries)).to.match(/^executable file `nope` not found/);
  });

  it("a missing executable is FAILED_PRECONDITION; other failures stay INTERNAL", () => {
    for (const msg of [
      'runc create failed: unable to start container process: exec: "/x": stat /x: no such file or directory',
      'runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH',
      "executable file `nope` not found in $PATH: No such file or directory",
    ]) {
      expect(createFailure(msg).kind, msg).to.equal("FAILED_PRECONDITION");
      expect(createFailure(msg).message).to.equal(msg);
    }
    expect(createFailure("runc create failed: cgroup: permission denied").kind).to.equal(
      "INTERNAL",
    );
  });
});
