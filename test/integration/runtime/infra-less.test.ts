// Pods without an infra container (drop_infra_ctr, berth's default): a pod that does not share a
// PID namespace has its network, IPC and UTS namespaces pinned as files and no process of its
// own; its containers share those namespaces, its hostname and sysctls; it survives a kill -9
// of berthd, goes NOTREADY when its namespaces are gone (a reboot), and leaves nothing once
// removed. Pods with pid: POD keep catatonit as PID 1, and drop_infra_ctr = false restores the
// infra for every pod.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { PodSandboxConfig } from "../../../src/gen/runtime/v1/PodSandboxConfig.js";
import {
  containerConfig,
  eventually,
  podConfig,
  type PodEnv,
  startPodEnv,
} from "../../support/pod-env.js";
import { conmonPidsFor, pidsWithArg } from "../state/state-helpers.js";

interface PodInfo {
  pid: number;
  infra: boolean;
  netnsPath: string;
  namespaceFiles?: { ipc?: string; uts?: string };
}

function mountPointsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((mp) => mp.startsWith(dir + "/"));
}

/** Every cgroup dir of a pod (berth's default parent) in any hierarchy. */
function podCgroups(podId: string): string[] {
  return readdirSync("/sys/fs/cgroup")
    .map((ctl) => path.join("/sys/fs/cgroup", ctl, "berth", podId))
    .filter((d) => existsSync(d));
}

/** `net:[4026532178]`-style identity of one of this host process's namespaces. */
function hostNs(kind: string): string {
  return execFileSync("readlink", [`/proc/self/ns/${kind}`], { encoding: "utf8" }).trim();
}

/** The nsfs inode a pinned namespace file stands for, in readlink's form. */
function pinnedNs(kind: string, file: string): string {
  return `${kind}:[${statSync(file).ino}]`;
}

/** A TCP connect that the peer refuses (its kernel's reset); resolves either way. */
function refusedConnect(host: string, port: number): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(2000, () => sock.destroy());
    sock.on("connect", () => sock.destroy());
    sock.on("error", () => resolve());
    sock.on("close", () => resolve());
  });
}

function runtimeIds(env: PodEnv): string[] {
  const dir = path.join(env.berthd.state, "runtimes");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((h) => readdirSync(path.join(dir, h)));
}

describe("pods without an infra container", function () {
  this.timeout(120_000);
  let env: PodEnv;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
  });
  after(async () => {
    await env?.cleanup();
  });

  const call = () => env.berthd.client.call;

  async function info(podId: string): Promise<PodInfo> {
    const st = await call().PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
    return JSON.parse(st.info["info"] ?? "{}") as PodInfo;
  }

  async function startIn(podId: string, pod: PodSandboxConfig, name: string): Promise<string> {
    const { container_id } = await call().CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(env, name, ["sleep", "600"]),
      sandbox_config: pod,
    });
    await call().StartContainer({ container_id });
    return container_id;
  }

  async function sh(ctrId: string, script: string): Promise<string> {
    const r = await call().ExecSync({
      container_id: ctrId,
      cmd: ["sh", "-c", script],
      timeout: 10,
    });
    expect(r.exit_code, `${script}: ${r.stderr.toString()}`).to.equal(0);
    return r.stdout.toString();
  }

  /** busybox readlink takes one file at a time. */
  const READ_NS = "for k in net ipc uts; do readlink /proc/self/ns/$k; done";
  const NS_SCRIPT =
    `${READ_NS}; hostname; ` +
    "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmax";

  async function stopAndRemove(podId: string): Promise<void> {
    await call().StopPodSandbox({ pod_sandbox_id: podId });
    await call().RemovePodSandbox({ pod_sandbox_id: podId });
    await call().RemovePodSandbox({ pod_sandbox_id: podId }); // idempotent
  }

  /** Nothing of the pod is left: mounts, netns, pod dir, cgroups, runtime state, processes. */
  function expectPodGone(podId: string, files: string[]): void {
    const b = env.berthd;
    const mounted = mountPointsUnder(b.dir);
    for (const f of files) {
      expect(mounted, `${f} unmounted`).to.not.include(f);
      expect(existsSync(f), `${f} removed`).to.equal(false);
    }
    expect(existsSync(path.join(b.state, "pods", podId)), "pod dir").to.equal(false);
    expect(podCgroups(podId), "pod cgroups").to.deep.equal([]);
    expect(runtimeIds(env), "runtime state").to.not.include(podId);
    expect(conmonPidsFor(podId), "conmon").to.deep.equal([]);
  }

  it("two containers share net/IPC/UTS, the hostname, the sysctls, /dev/shm; no process holds the pod", async () => {
    const pod = podConfig(env, "shared-ns", {
      hostname: "shared-ns-host",
      linux: {
        sysctls: { "net.ipv4.ip_unprivileged_port_start": "80", "kernel.shmmax": "65536" },
        security_context: { namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD" } },
      },
    });
    const { pod_sandbox_id: podId } = await call().RunPodSandbox({ config: pod });
    const i = await info(podId);
    expect(i.infra).to.equal(false);
    expect(i.pid).to.equal(0);
    const ipc = i.namespaceFiles?.ipc ?? "";
    const uts = i.namespaceFiles?.uts ?? "";
    // The pod holds no process: no conmon, no runtime container, nothing with its id.
    expect(conmonPidsFor(podId)).to.deep.equal([]);
    expect(pidsWithArg(podId)).to.deep.equal([]);
    expect(runtimeIds(env)).to.not.include(podId);
    // berth made the pod cgroup itself (no runtime made it for an infra).
    expect(podCgroups(podId).length).to.be.greaterThan(0);

    const a = await startIn(podId, pod, "a");
    const b = await startIn(podId, pod, "b");
    const [outA, outB] = [await sh(a, NS_SCRIPT), await sh(b, NS_SCRIPT)];
    expect(outA).to.equal(outB);
    const [net, ipcNs, utsNs, hostname, portStart, shmmax] = outA.trim().split("\n");
    expect([net, ipcNs, utsNs]).to.deep.equal([
      pinnedNs("net", i.netnsPath),
      pinnedNs("ipc", ipc),
      pinnedNs("uts", uts),
    ]);
    expect(net).to.not.equal(hostNs("net"));
    expect(ipcNs).to.not.equal(hostNs("ipc"));
    expect(utsNs).to.not.equal(hostNs("uts"));
    expect([hostname, portStart, shmmax]).to.deep.equal(["shared-ns-host", "80", "65536"]);

    // An IPC object one container makes (a POSIX message queue) is seen by the other.
    const queue = `berth-q-${podId.slice(0, 8)}`;
    await sh(a, `touch /dev/mqueue/${queue}`);
    expect(await sh(b, "ls /dev/mqueue")).to.include(queue);
    await sh(a, "echo shared > /dev/shm/note");
    expect(await sh(b, "cat /dev/shm/note")).to.equal("shared\n");

    // Stats: the pod cgroup holds both containers; the network is read through a container.
    const stats = await eventually(async () => {
      const s = (await call().PodSandboxStats({ pod_sandbox_id: podId })).stats!.linux!;
      expect(s.containers.length).to.equal(2);
      expect(s.network?.default_interface?.name).to.equal("eth0");
      return s;
    });
    expect(BigInt(stats.memory!.usage_bytes!.value) > 0n).to.equal(true);
    expect(Number(stats.process!.process_count!.value)).to.be.at.least(2);

    await stopAndRemove(podId);
    expectPodGone(podId, [i.netnsPath, ipc, uts]);
  });

  it("kill -9 of berthd and a restart keep the pod READY with its IP; Stop/Remove release all", async () => {
    const pod = podConfig(env, "survivor");
    const { pod_sandbox_id: podId } = await call().RunPodSandbox({ config: pod });
    const ip = (await call().PodSandboxStatus({ pod_sandbox_id: podId })).status!.network!.ip;
    const a = await startIn(podId, pod, "a");
    const before = await sh(a, READ_NS);
    const i = await info(podId);

    await env.berthd.kill9();
    await env.berthd.launch();

    const st = (await call().PodSandboxStatus({ pod_sandbox_id: podId })).status!;
    expect([st.state, st.network!.ip]).to.deep.equal(["SANDBOX_READY", ip]);
    // A container made after the restart joins the same namespaces by path.
    const b = await startIn(podId, pod, "b");
    expect(await sh(b, READ_NS)).to.equal(before);
    expect((await sh(b, "hostname")).trim()).to.equal("survivor");

    await call().StopPodSandbox({ pod_sandbox_id: podId });
    const files = [i.netnsPath, i.namespaceFiles!.ipc!, i.namespaceFiles!.uts!];
    const mounted = mountPointsUnder(env.berthd.dir);
    for (const f of files) expect(mounted, `${f} released by stop`).to.not.include(f);
    await call().RemovePodSandbox({ pod_sandbox_id: podId });
    await call().RemovePodSandbox({ pod_sandbox_id: podId });
    expectPodGone(podId, files);
  });

  it("a pod with no running container reports its network counters, from its veth's host end", async () => {
    const pod = podConfig(env, "quiet");
    const { pod_sandbox_id: podId } = await call().RunPodSandbox({ config: pod });
    const st = await call().PodSandboxStatus({ pod_sandbox_id: podId });
    const ip = st.status!.network!.ip;
    // Traffic with nothing running in the pod: its kernel answers each SYN with a reset.
    for (let i = 0; i < 5; i++) await refusedConnect(ip, 9);
    const net = await eventually(async () => {
      const s = await call().PodSandboxStats({ pod_sandbox_id: podId });
      const n = s.stats!.linux!.network!;
      expect(n.default_interface?.name).to.equal("eth0");
      // 5 SYNs received (74 bytes on the wire each) and 5 resets sent (54 bytes each).
      expect(Number(n.default_interface!.rx_bytes!.value)).to.be.at.least(5 * 74);
      expect(Number(n.default_interface!.tx_bytes!.value)).to.be.at.least(5 * 54);
      return n;
    });
    expect(net.interfaces.map((i) => i.name)).to.deep.equal(["eth0"]);
    // A container that runs takes over the reading (its netns, every interface but lo).
    const ctr = await startIn(podId, pod, "now");
    await eventually(async () => {
      const s = await call().PodSandboxStats({ pod_sandbox_id: podId });
      const rx = Number(s.stats!.linux!.network!.default_interface!.rx_bytes!.value);
      expect(rx).to.be.at.least(Number(net.default_interface!.rx_bytes!.value));
    });
    await call().StopContainer({ container_id: ctr, timeout: 0 });
    await stopAndRemove(podId);
  });

  it("a pod whose namespaces are gone when berthd starts (a reboot) is NOTREADY, and removable", async () => {
    const pod = podConfig(env, "rebooted");
    const { pod_sandbox_id: podId } = await call().RunPodSandbox({ config: pod });
    const i = await info(podId);
    const files = [i.netnsPath, i.namespaceFiles!.ipc!, i.namespaceFiles!.uts!];
    await env.berthd.kill9();
    for (const f of files) execFileSync("umount", ["--lazy", f]);
    await env.berthd.launch();
    const st = (await call().PodSandboxStatus({ pod_sandbox_id: podId })).status!;
    expect(st.state).to.equal("SANDBOX_NOTREADY");
    await stopAndRemove(podId);
    expectPodGone(podId, files);
  });

  it("a host-network pod: the host's network and hostname, an IPC namespace of its own", async () => {
    const pod = podConfig(env, "hostnet", {
      linux: {
        security_context: {
          namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" },
        },
      },
    });
    const { pod_sandbox_id: podId } = await call().RunPodSandbox({ config: pod });
    const i = await info(podId);
    expect([i.infra, i.netnsPath, i.namespaceFiles?.uts]).to.deep.equal([false, "", undefined]);
    const a = await startIn(podId, pod, "a");
    const [net, ipc, uts] = (await sh(a, READ_NS)).trim().split("\n");
    expect([net, uts]).to.deep.equal([hostNs("net"), hostNs("uts")]);
    expect(ipc).to.equal(pinnedNs("ipc", i.namespaceFiles!.ipc!));
    expect(ipc).to.not.equal(hostNs("ipc"));
    expect((await sh(a, "hostname")).trim()).to.equal(os.hostname());
    await stopAndRemove(podId);
    expectPodGone(podId, [i.namespaceFiles!.ipc!]);
  });

  it("a pod with pid: POD keeps catatonit as PID 1 under conmon", async () => {
    const pod = podConfig(env, "pidpod", {
      linux: {
        security_context: { namespace_options: { network: "POD", pid: "POD", ipc: "POD" } },
      },
    });
    const { pod_sandbox_id: podId } = await call().RunPodSandbox({ config: pod });
    const i = await info(podId);
    expect(i.infra).to.equal(true);
    expect(i.pid).to.be.greaterThan(0);
    expect(conmonPidsFor(podId).length).to.equal(1);
    const { container_id: a } = await call().CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(env, "a", ["sleep", "600"], {
        linux: {
          security_context: { namespace_options: { network: "POD", pid: "POD", ipc: "POD" } },
        },
      }),
      sandbox_config: pod,
    });
    await call().StartContainer({ container_id: a });
    expect(await sh(a, "tr '\\0' ' ' < /proc/1/cmdline")).to.match(/^\/berth-init -P/);
    await stopAndRemove(podId);
    expectPodGone(podId, [i.netnsPath]);
  });
});

describe("drop_infra_ctr = false", function () {
  this.timeout(120_000);
  let env: PodEnv;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv({ configToml: "drop_infra_ctr = false" });
  });
  after(async () => {
    await env?.cleanup();
  });

  it("gives a pod that does not share its PID namespace an infra container again", async () => {
    const c = env.berthd.client.call;
    const pod = podConfig(env, "with-infra");
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    const st = await c.PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
    const i = JSON.parse(st.info["info"] ?? "{}") as PodInfo;
    expect(i.infra).to.equal(true);
    expect(i.pid).to.be.greaterThan(0);
    expect(conmonPidsFor(podId).length).to.equal(1);
    const { container_id } = await c.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(env, "a", ["sleep", "600"]),
      sandbox_config: pod,
    });
    await c.StartContainer({ container_id });
    // The container joins the infra's namespaces.
    const r = await c.ExecSync({
      container_id,
      cmd: ["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/uts"],
      timeout: 10,
    });
    const infraNs = execFileSync("readlink", [`/proc/${i.pid}/ns/net`, `/proc/${i.pid}/ns/uts`], {
      encoding: "utf8",
    });
    expect(r.stdout.toString()).to.equal(infraNs);
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
    await eventually(async () => expect(conmonPidsFor(podId)).to.deep.equal([]), 5000);
  });
});
