import { expect } from "chai";
import {
  cleanRuntimeMessage,
  isNotExistMessage,
  isNotRunningMessage,
  parseRuntimeState,
} from "../../../src/runtime/oci/runtime-state.js";

describe("runtime-oci: runtime state parsing", () => {
  it("parses runc's state output", () => {
    const text = JSON.stringify({
      ociVersion: "1.0.2-dev",
      id: "c1",
      pid: 7421,
      status: "created",
      bundle: "/tmp/exp",
      rootfs: "/tmp/exp/rootfs",
      created: "2026-11-28T00:08:51.822546409Z",
      owner: "",
      annotations: { a: "b", n: 1 },
    });
    expect(parseRuntimeState(text)).to.deep.equal({
      id: "c1",
      status: "created",
      pid: 7421,
      bundle: "/tmp/exp",
      created: "2026-11-28T00:08:51.822546409Z",
      annotations: { a: "b" },
    });
  });

  it("a stopped container has pid 0", () => {
    const st = parseRuntimeState('{"id":"c","status":"stopped","pid":0,"bundle":"/b"}');
    expect(st.pid).to.equal(0);
    expect(st.status).to.equal("stopped");
    expect(st.created).to.equal("");
  });

  it("rejects what is not a state object", () => {
    expect(() => parseRuntimeState("")).to.throw(/not JSON/);
    expect(() => parseRuntimeState("[]")).to.throw(/not a JSON object/);
    expect(() => parseRuntimeState('{"status":"running"}')).to.throw(/no id/);
    expect(() => parseRuntimeState('{"id":"x","status":"exploded"}')).to.throw(/unknown status/);
  });

  it("recognises runc's and crun's 'no such container' messages", () => {
    expect(
      isNotExistMessage('time="2026-11-28T00:08:51Z" level=error msg="container does not exist"'),
    ).to.equal(true);
    expect(
      isNotExistMessage("error opening file `/run/crun/x/status`: No such file or directory", {
        root: "/run/crun",
        id: "x",
      }),
    ).to.equal(true);
    expect(
      isNotExistMessage("cannot open directory `/run/crun/x`: No such file or directory", {
        root: "/run/crun",
        id: "x",
      }),
    ).to.equal(true);
    expect(isNotExistMessage('level=error msg="permission denied"')).to.equal(false);
  });

  it("recognises 'nothing left to kill'", () => {
    expect(isNotRunningMessage('level=error msg="container not running"')).to.equal(true);
    expect(isNotRunningMessage("kill container: No such process")).to.equal(true);
    expect(isNotRunningMessage("permission denied")).to.equal(false);
  });

  it("keeps only the messages of logrus lines", () => {
    const stderr =
      'time="2026-11-28T00:08:51Z" level=warning msg="a \\"quoted\\" thing"\n' +
      'time="2026-11-28T00:08:51Z" level=error msg="runc create failed"\n\n';
    expect(cleanRuntimeMessage(stderr)).to.equal('a "quoted" thing; runc create failed');
    expect(cleanRuntimeMessage("cgroups in hybrid mode not supported\n")).to.equal(
      "cgroups in hybrid mode not supported",
    );
  });
});
