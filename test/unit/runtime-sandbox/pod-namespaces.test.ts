import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { NamespaceOption__Output } from "../../../src/gen/runtime/v1/NamespaceOption.js";
import { buildTargets } from "../../../src/metrics/stats-targets.js";
import type { ContainerRecord, SandboxRecord } from "../../../src/runtime/records.js";
import { sandboxState } from "../../../src/runtime/records.js";
import type { CommandRunner, RunResult } from "../../../src/util/command.js";
import {
  needsInfra,
  pinPodNamespaces,
  podNamespaceFiles,
  podNamespacesPinned,
  realDirOnce,
  sysctlArgs,
  sysctlPath,
  unshareArgs,
} from "../../../src/runtime/sandbox/pod-namespaces.js";
import { containerNamespaces } from "../../../src/runtime/spec/namespaces.js";

class FailingUnshare implements CommandRunner {
  readonly calls: string[][] = [];
  async run(file: string, args: readonly string[]): Promise<RunResult> {
    this.calls.push([file, ...args]);
    const fail = Buffer.from("unshare: failed");
    return {
      code: 1,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: fail,
      timedOut: false,
      truncated: false,
    };
  }
}

function ns(over: Partial<NamespaceOption__Output> = {}): NamespaceOption__Output {
  return {
    network: "POD",
    pid: "CONTAINER",
    ipc: "POD",
    target_id: "",
    userns_options: null,
    ...over,
  };
}

describe("runtime/sandbox pod namespaces without an infra", () => {
  it("an infra only for a shared PID namespace, or for every pod when drop_infra_ctr is off", () => {
    expect(needsInfra(ns(), true)).to.equal(false);
    expect(needsInfra(ns({ pid: "NODE" }), true)).to.equal(false);
    expect(needsInfra(ns({ pid: "POD" }), true)).to.equal(true);
    // An absent NamespaceOption means POD for everything (proto3 defaults).
    expect(needsInfra(null, true)).to.equal(true);
    expect(needsInfra(ns(), false)).to.equal(true);
  });

  it("pins net and UTS unless host network, IPC unless host IPC", () => {
    expect(podNamespaceFiles(ns(), "/run/b/netns/berth-x", "/run/b/pods/x")).to.deep.equal({
      net: "/run/b/netns/berth-x",
      uts: "/run/b/pods/x/ns/uts",
      ipc: "/run/b/pods/x/ns/ipc",
    });
    expect(podNamespaceFiles(ns({ network: "NODE" }), "/n", "/p")).to.deep.equal({
      ipc: "/p/ns/ipc",
    });
    expect(podNamespaceFiles(ns({ network: "NODE", ipc: "NODE" }), "/n", "/p")).to.deep.equal({});
  });

  it("one unshare makes them all and sets the hostname from inside, passed as an argument", () => {
    const files = { net: "/n", ipc: "/i", uts: "/u" };
    const args = unshareArgs(files, "a'b; rm -rf /");
    expect(args.slice(0, 3)).to.deep.equal(["--net=/n", "--ipc=/i", "--uts=/u"]);
    expect(args.slice(3, 5)).to.deep.equal(["sh", "-c"]);
    expect(args[5]).to.not.include("a'b");
    expect(args.slice(6)).to.deep.equal(["sh", "a'b; rm -rf /"]);
    // Without a UTS namespace there is no hostname to set.
    expect(unshareArgs({ ipc: "/i" }, "h")).to.deep.equal(["--ipc=/i", "true"]);
  });

  it("sysctl names become /proc/sys paths, kubelet's '/' inside a dotted name a '.'", () => {
    expect(sysctlPath("net.ipv4.ip_forward")).to.equal("net/ipv4/ip_forward");
    expect(sysctlPath("net/ipv4/ip_forward")).to.equal("net/ipv4/ip_forward");
    expect(sysctlPath("net.ipv4.conf.eth0/100.forwarding")).to.equal(
      "net/ipv4/conf/eth0.100/forwarding",
    );
    expect(sysctlPath("kernel.shmmax")).to.equal("kernel/shmmax");
  });

  it("sysctls are written inside the pod's namespaces, values as arguments", () => {
    const args = sysctlArgs({ net: "/n", ipc: "/i" }, { "kernel.sem": "250 32000 32 128" });
    expect(args.slice(0, 4)).to.deep.equal(["--net=/n", "--ipc=/i", "sh", "-c"]);
    expect(args.slice(5)).to.deep.equal(["sh", "kernel/sem", "250 32000 32 128"]);
  });

  it("a failed pin removes the files it made and leaves one that was there alone", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-pin-"));
    try {
      const files = { net: path.join(dir, "net"), ipc: path.join(dir, "p", "ns", "ipc") };
      const runner = new FailingUnshare();
      let err: unknown;
      await pinPodNamespaces(runner, files, "h").catch((e: unknown) => (err = e));
      expect(String(err)).to.include("unshare: failed");
      expect(await fs.readdir(dir)).to.deep.equal(["p"]);
      expect(await fs.readdir(path.join(dir, "p", "ns"))).to.deep.equal([]);
      // A netns file already there (another pod's): refused before unshare runs, and kept.
      await fs.writeFile(files.net, "theirs");
      err = undefined;
      await pinPodNamespaces(runner, files, "h").catch((e: unknown) => (err = e));
      expect(String(err)).to.include("EEXIST");
      expect(runner.calls.length).to.equal(1);
      expect(await fs.readFile(files.net, "utf8")).to.equal("theirs");
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("pinned means mounted: a plain file left behind is not a namespace", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-pinned-"));
    try {
      const f = path.join(dir, "net");
      await fs.writeFile(f, "");
      const info = path.join(dir, "mountinfo");
      await fs.writeFile(info, `45 26 0:4 net:[4026532178] ${f} rw - nsfs nsfs rw\n`);
      expect(await podNamespacesPinned({ net: f }, info)).to.equal(true);
      await fs.writeFile(info, "");
      expect(await podNamespacesPinned({ net: f }, info)).to.equal(false);
      expect(await podNamespacesPinned({ net: path.join(dir, "gone") }, info)).to.equal(false);
      expect(await podNamespacesPinned({}, info)).to.equal(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("containers join the pinned files; what the pod lacks is the pod's choice", () => {
    const sandbox = {
      id: "sb",
      pid: 0,
      namespacePaths: { net: "/n", ipc: "/i", uts: "/u" },
      hostname: "h",
      cgroupParent: "/p",
    };
    const F = "config.linux.security_context";
    expect(containerNamespaces(ns({ pid: "POD" }), sandbox, undefined, false, F)).to.deep.equal([
      { type: "mount" },
      { type: "network", path: "/n" },
      { type: "uts", path: "/u" },
      { type: "ipc", path: "/i" },
      // No shared PID namespace in the pod: the container gets its own.
      { type: "pid" },
    ]);
    const hostNet = { ...sandbox, namespacePaths: { ipc: "/i" } };
    expect(containerNamespaces(ns(), hostNet, undefined, false, F)).to.deep.equal([
      { type: "mount" },
      { type: "ipc", path: "/i" },
      { type: "pid" },
    ]);
  });

  it("an infra-less pod is READY without a pid; an old record without the flag needs one", () => {
    const base = { stoppedAt: 0n, infraExitedAt: 0n, infraPid: 0 };
    expect(sandboxState({ ...base, infra: false })).to.equal("SANDBOX_READY");
    expect(sandboxState({ ...base, infra: false, infraExitedAt: 7n })).to.equal("SANDBOX_NOTREADY");
    expect(sandboxState({ ...base, infra: false, stoppedAt: 7n })).to.equal("SANDBOX_NOTREADY");
    expect(sandboxState(base)).to.equal("SANDBOX_NOTREADY");
  });

  it("stats: an infra-less pod's network is read through a running container, no infra cgroup", () => {
    const sb = {
      version: 1,
      id: "s1",
      name: "n",
      config: { metadata: null, labels: {}, annotations: {} },
      runtimeHandler: "runc",
      createdAt: 1n,
      stoppedAt: 0n,
      infra: false,
      infraPid: 0,
      infraExitedAt: 0n,
      hostNetwork: false,
      netnsPath: "/n",
      ips: [],
      networkAttached: true,
      cgroupParent: "/berth/s1",
      files: { hostname: "", hosts: "", resolvConf: "", shm: "" },
    } as unknown as SandboxRecord;
    const ctr = (id: string, pid: number, finishedAt: bigint) =>
      ({
        id,
        sandboxId: "s1",
        config: { metadata: { name: id, attempt: 0 }, labels: {}, annotations: {} },
        imageName: "",
        createdAt: 1n,
        startedAt: 2n,
        finishedAt,
        startError: "",
        pid,
        cgroupPath: `/berth/s1/${id}`,
      }) as unknown as ContainerRecord;
    const opts = {
      driver: "cgroupfs" as const,
      podProcessCgroupsPath: (p: string, i: string) => `${p}/${i}`,
    };
    const [pod] = buildTargets([sb], [ctr("c1", 50, 9n), ctr("c2", 51, 0n)], opts);
    expect(pod!.netPid).to.equal(51);
    expect(pod!.infraCgroupPath).to.equal(undefined);
    const [none] = buildTargets([sb], [ctr("c1", 50, 9n)], opts);
    expect(none!.netPid).to.equal(undefined);
    expect(none!.netVeth).to.equal(undefined); // the record names no veth
    // With its veth's host end recorded, a pod with no running container reads it there;
    // one with a running container keeps reading its netns; a stopped pod reads nothing.
    const withVeth = { ...sb, hostVeth: { host: "veth1", pod: "eth0" } } as SandboxRecord;
    const [idle] = buildTargets([withVeth], [ctr("c1", 50, 9n)], opts);
    expect(idle!.netVeth).to.deep.equal({ host: "veth1", pod: "eth0" });
    const [busy] = buildTargets([withVeth], [ctr("c2", 51, 0n)], opts);
    expect([busy!.netPid, busy!.netVeth]).to.deep.equal([51, undefined]);
    const stopped = { ...withVeth, stoppedAt: 5n } as SandboxRecord;
    const [gone] = buildTargets([stopped], [], opts);
    expect([gone!.netPid, gone!.netVeth]).to.deep.equal([undefined, undefined]);
  });
  it("the netns dir: made and resolved to its real path once; a failure is tried again", async () => {
    const tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "berth-realdir-")));
    try {
      await fs.mkdir(path.join(tmp, "real"));
      await fs.symlink(path.join(tmp, "real"), path.join(tmp, "link"));
      const viaLink = () => realDirOnce(path.join(tmp, "link", "netns"));
      expect(await viaLink()).to.equal(path.join(tmp, "real", "netns"));
      expect((await fs.stat(path.join(tmp, "real", "netns"))).isDirectory()).to.equal(true);
      // Remembered: the link may change, the answer does not.
      await fs.rm(path.join(tmp, "link"));
      expect(await viaLink()).to.equal(path.join(tmp, "real", "netns"));

      await fs.writeFile(path.join(tmp, "file"), "");
      await fs.symlink(path.join(tmp, "file"), path.join(tmp, "later"));
      const later = () => realDirOnce(path.join(tmp, "later", "netns"));
      let failed: unknown;
      await later().catch((e: unknown) => (failed = e));
      expect(String(failed)).to.match(/ENOTDIR|EEXIST/);
      await fs.rm(path.join(tmp, "later"));
      await fs.symlink(path.join(tmp, "real"), path.join(tmp, "later"));
      expect(await later()).to.equal(path.join(tmp, "real", "netns"));
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});
