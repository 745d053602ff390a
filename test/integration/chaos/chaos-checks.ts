// What the chaos suite asserts after each crash and restart: every record agrees with the OCI
// runtime and the processes, everything can be stopped and removed, and then nothing of berth's
// is left on the host.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import type { Berthd } from "../../support/berthd.js";
import type { PodEnv } from "../../support/pod-env.js";
import { alive, cgroupProcs } from "../state/state-helpers.js";
import { mountPoints } from "../../../src/util/mountinfo.js";

/** Ids of every object berth made on disk (also those a crash left without a record). */
export interface Seen {
  pods: Set<string>;
  containers: Set<string>;
}

function ls(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function noteIds(b: Berthd, seen: Seen): void {
  for (const [dir, set] of [
    ["pods", seen.pods],
    ["containers", seen.containers],
  ] as const) {
    for (const id of ls(path.join(b.state, dir))) set.add(id);
  }
}

interface OciState {
  status: string;
  pid: number;
}

/** `runc state` under berthd's runtime root; undefined when the runtime does not know it. */
export function runtimeState(b: Berthd, id: string): OciState | undefined {
  for (const handler of ls(path.join(b.state, "runtimes"))) {
    const root = path.join(b.state, "runtimes", handler);
    if (!ls(root).includes(id)) continue;
    try {
      const out = execFileSync(
        handler === "crun" ? "crun" : "runc",
        ["--root", root, "state", id],
        {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      return JSON.parse(out) as OciState;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Every pod and container berth reports agrees with the runtime and the processes. */
export async function assertConsistent(env: PodEnv): Promise<void> {
  const c = env.berthd.client.call;
  const mounted = new Set(mountsUnder(env.berthd.dir));
  for (const p of (await c.ListPodSandbox({})).items) {
    const rt = runtimeState(env.berthd, p.id);
    const st = await c.PodSandboxStatus({ pod_sandbox_id: p.id, verbose: true });
    const info = JSON.parse(st.info["info"] ?? "{}") as {
      infra?: boolean;
      netnsPath?: string;
      namespaceFiles?: Record<string, string>;
    };
    if (info.infra === false) {
      // No process holds it: the runtime knows no such container, its namespaces are files.
      expect(rt, `infra-less pod ${p.id}: no runtime container`).to.equal(undefined);
      if (p.state !== "SANDBOX_READY") continue;
      const files = [info.netnsPath ?? "", ...Object.values(info.namespaceFiles ?? {})];
      for (const f of files.filter((f) => f !== "")) {
        expect(mounted.has(f), `ready pod ${p.id}: ${f} pinned`).to.equal(true);
      }
      continue;
    }
    const infraRuns = rt?.status === "running" && alive(rt.pid);
    if (p.state === "SANDBOX_READY")
      expect(infraRuns, `ready pod ${p.id}: infra runs`).to.equal(true);
  }
  for (const ctr of (await c.ListContainers({})).containers) {
    const rt = runtimeState(env.berthd, ctr.id);
    const st = await c.ContainerStatus({ container_id: ctr.id, verbose: true });
    const info = JSON.parse(st.info["info"] ?? "{}") as { pid?: number; cgroupPath?: string };
    const what = `container ${ctr.id} ${ctr.state} (runtime: ${rt?.status ?? "absent"})`;
    switch (ctr.state) {
      case "CONTAINER_RUNNING":
        expect(rt?.status, what).to.equal("running");
        expect(alive(rt!.pid), what).to.equal(true);
        expect(st.status!.started_at, what).to.not.equal("0");
        break;
      case "CONTAINER_CREATED":
        expect(rt?.status, what).to.equal("created");
        break;
      case "CONTAINER_EXITED":
        expect(rt === undefined || rt.status === "stopped", what).to.equal(true);
        expect(cgroupProcs(info.cgroupPath ?? "/nonexistent"), what).to.deep.equal([]);
        break;
      default:
        expect.fail(what);
    }
  }
}

/** Stops and removes every container and pod through the CRI; each call must succeed quickly. */
export async function removeEverything(env: PodEnv): Promise<void> {
  const c = env.berthd.client.call;
  const t0 = Date.now();
  for (const ctr of (await c.ListContainers({})).containers) {
    await c.StopContainer({ container_id: ctr.id, timeout: 1 });
    await c.RemoveContainer({ container_id: ctr.id });
  }
  for (const p of (await c.ListPodSandbox({})).items) {
    await c.StopPodSandbox({ pod_sandbox_id: p.id });
    await c.RemovePodSandbox({ pod_sandbox_id: p.id });
  }
  expect((await c.ListContainers({})).containers).to.deep.equal([]);
  expect((await c.ListPodSandbox({})).items).to.deep.equal([]);
  expect(Date.now() - t0, "stop and remove everything").to.be.below(30_000);
}

function mountsUnder(dir: string): string[] {
  return mountPoints(readFileSync("/proc/self/mountinfo", "utf8")).filter((mp) =>
    mp.startsWith(dir + "/"),
  );
}

function conmonsOf(b: Berthd): number[] {
  const out: number[] = [];
  for (const e of ls("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== "conmon") continue;
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(b.state) && alive(Number(e))) {
        out.push(Number(e));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function cgroupsOf(seen: Seen): string[] {
  const out: string[] = [];
  for (const ctl of ls("/sys/fs/cgroup")) {
    for (const id of seen.pods) {
      const dir = path.join("/sys/fs/cgroup", ctl, "berth", id);
      if (ls(path.dirname(dir)).includes(id)) out.push(dir);
    }
  }
  return out;
}

function veths(bridge: string): string[] {
  try {
    return execFileSync("ip", ["-o", "link", "show", "master", bridge], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.trim() !== "");
  } catch {
    return []; // no bridge: no veth on it
  }
}

function ipReservations(b: Berthd): string[] {
  const out: string[] = [];
  const dir = path.join(b.root, "cni", "networks");
  for (const net of ls(dir)) {
    for (const f of ls(path.join(dir, net))) {
      if (f === "lock" || f.startsWith("last_reserved_ip")) continue;
      out.push(path.join(net, f));
    }
  }
  return out;
}

/** iptables rules and chains naming a seen pod (the bridge plugin's masquerade, portmap's). */
function iptablesOf(seen: Seen): string[] {
  const text = ["nat", "filter"]
    .map((t) => execFileSync("iptables-save", ["-t", t], { encoding: "utf8" }))
    .join("\n");
  return text.split("\n").filter((l) => [...seen.pods].some((id) => l.includes(id)));
}

export interface Leftovers {
  [what: string]: string[];
}

/** Everything of berth's still on the host. */
export function leftovers(env: PodEnv, seen: Seen): Leftovers {
  const b = env.berthd;
  return {
    mounts: mountsUnder(b.dir),
    conmon: conmonsOf(b).map(String),
    netns: ls(path.join(b.state, "netns")),
    veths: veths(env.bridge),
    "ip reservations": ipReservations(b),
    iptables: iptablesOf(seen),
    cgroups: cgroupsOf(seen),
    "exit files": ls(path.join(b.state, "exits")),
    "runtime state": ls(path.join(b.state, "runtimes")).flatMap((h) =>
      ls(path.join(b.state, "runtimes", h)).filter(
        (id) => seen.pods.has(id) || seen.containers.has(id),
      ),
    ),
    "pod dirs": ls(path.join(b.state, "pods")),
    "container dirs": ls(path.join(b.state, "containers")),
    "writable layers": ls(path.join(b.root, "overlay")),
    "socket links": ls(path.join(b.state, "s")),
  };
}

/** Asserts nothing is left, socket links and the residue of half-made objects included. */
export async function assertNothingLeft(env: PodEnv, seen: Seen): Promise<void> {
  // Exits and unmounts settle within moments of the last remove.
  const deadline = Date.now() + 3000;
  for (;;) {
    const bad = Object.entries(leftovers(env, seen)).filter(([, items]) => items.length > 0);
    if (bad.length === 0) return;
    if (Date.now() > deadline) {
      expect(Object.fromEntries(bad), "left behind").to.deep.equal({});
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
