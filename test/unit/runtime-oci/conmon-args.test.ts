import { expect } from "chai";
import {
  conmonArgs,
  ctlMessage,
  parseSyncMessage,
  type ConmonOptions,
} from "../../../src/runtime/oci/conmon-args.js";

const base: ConmonOptions = {
  id: "abc123",
  bundle: "/run/berth/bundles/abc123",
  runtimePath: "/usr/sbin/runc",
  runtimeRoot: "/run/berth/runc",
  logPath: "/var/log/pods/ns_pod_uid/ctr/0.log",
  exitDir: "/run/berth/exits",
  persistDir: "/var/lib/berth/containers/abc123",
  containerPidFile: "/run/berth/bundles/abc123/pidfile",
  conmonPidFile: "/var/lib/berth/containers/abc123/conmon-pidfile",
  socketDir: "/run/berth/attach",
};

/** The value following `flag`, asserting it appears exactly once. */
function valueOf(args: string[], flag: string): string | undefined {
  const at = args.flatMap((a, i) => (a === flag ? [i] : []));
  expect(at, flag).to.have.length.at.most(1);
  return at.length ? args[at[0]! + 1] : undefined;
}

describe("runtime-oci: conmonArgs", () => {
  it("names every path and the runtime, with the API-version-1 sync protocol", () => {
    const args = conmonArgs(base);
    expect(args[0]).to.equal("--api-version");
    expect(valueOf(args, "--cid")).to.equal("abc123");
    expect(valueOf(args, "--cuuid")).to.equal("abc123");
    expect(valueOf(args, "--name")).to.equal("abc123");
    expect(valueOf(args, "--bundle")).to.equal(base.bundle);
    expect(valueOf(args, "--runtime")).to.equal("/usr/sbin/runc");
    expect(valueOf(args, "--runtime-arg")).to.equal("--root=/run/berth/runc");
    expect(valueOf(args, "--log-path")).to.equal("k8s-file:/var/log/pods/ns_pod_uid/ctr/0.log");
    expect(valueOf(args, "--exit-dir")).to.equal("/run/berth/exits");
    expect(valueOf(args, "--persist-dir")).to.equal(base.persistDir);
    expect(valueOf(args, "--container-pidfile")).to.equal(base.containerPidFile);
    expect(valueOf(args, "--conmon-pidfile")).to.equal(base.conmonPidFile);
    expect(valueOf(args, "--socket-dir-path")).to.equal("/run/berth/attach");
    expect(valueOf(args, "--log-level")).to.equal("warn");
    for (const absent of [
      "--sync",
      "--terminal",
      "--stdin",
      "--systemd-cgroup",
      "--syslog",
      "--log-size-max",
    ]) {
      expect(args).to.not.include(absent);
    }
  });

  it("adds the optional flags only when asked", () => {
    const args = conmonArgs({
      ...base,
      name: "web",
      systemdCgroup: true,
      syslog: true,
      noPivot: true,
      logLevel: "debug",
      logSizeMax: 10_000_000_000n,
    });
    expect(valueOf(args, "--name")).to.equal("web");
    expect(valueOf(args, "--log-level")).to.equal("debug");
    expect(valueOf(args, "--log-size-max")).to.equal("10000000000");
    expect(args).to.include.members(["--systemd-cgroup", "--syslog", "--no-pivot"]);
  });

  it("terminal wins over stdin; stdin without stdin_once leaves it open", () => {
    expect(conmonArgs({ ...base, terminal: true, stdin: true }))
      .to.include("--terminal")
      .and.not.include("--stdin");
    const open = conmonArgs({ ...base, stdin: true });
    expect(open).to.include.members(["--stdin", "--leave-stdin-open"]);
    const once = conmonArgs({ ...base, stdin: true, stdinOnce: true });
    expect(once).to.include("--stdin").and.not.include("--leave-stdin-open");
  });

  it("rejects a log path conmon would cut at ':' and a bad id", () => {
    expect(() => conmonArgs({ ...base, logPath: "/var/log/a:b.log" })).to.throw(/log_path/);
    expect(() => conmonArgs({ ...base, logPath: "" })).to.throw(/log_path/);
    expect(() => conmonArgs({ ...base, id: "../x" })).to.throw(/id/);
  });
});

describe("runtime-oci: conmon sync messages", () => {
  it("reads the pid with either key", () => {
    expect(parseSyncMessage('{"data": 4242}')).to.deep.equal({ ok: true, pid: 4242 });
    expect(parseSyncMessage('{"pid": 17}')).to.deep.equal({ ok: true, pid: 17 });
  });

  it("reports a create failure with the runtime's message", () => {
    expect(
      parseSyncMessage('{"data": -1, "message": "exec: \\"x\\": not found\\n"}'),
    ).to.deep.equal({
      ok: false,
      message: 'exec: "x": not found',
    });
    expect(parseSyncMessage('{"data": -1}')).to.deep.equal({
      ok: false,
      message: "container create failed",
    });
  });

  it("does not trust garbage", () => {
    expect(parseSyncMessage("nonsense").ok).to.equal(false);
    expect(parseSyncMessage("null").ok).to.equal(false);
    expect(parseSyncMessage('{"data": "12"}').ok).to.equal(false);
    expect(parseSyncMessage('{"data": 1.5}').ok).to.equal(false);
  });

  it("formats ctl FIFO lines as conmon scans them", () => {
    expect(ctlMessage("reopen-log")).to.equal("2 0 0\n");
    expect(ctlMessage("resize", 40, 120)).to.equal("1 40 120\n");
  });
});
