// The three measurements of the benchmark, each over both runtimes ("sides") through crictl:
// lifecycle rounds (alternating which runtime goes first), memory with N pods, and image pulls.
import { existsSync } from "node:fs";
import * as path from "node:path";
import type { BenchNetwork } from "./configs.js";
import { type Crictl, writePodFiles } from "./crictl.js";
import { measureRuntime, type MemoryFigures } from "./processes.js";

export interface Side {
  name: "berth" | "containerd";
  crictl: Crictl;
  /** The runtime's temp dir: its helpers' command lines name it. */
  dir: string;
  daemonPid(): number | undefined;
  net: BenchNetwork;
  /** Where the pod and container JSON files go. */
  podDir: string;
  logDir: string;
  /** The cgroup parent under which each pod gets its own, as kubelet's `/kubepods/...`. */
  cgroupRoot: string;
  /** Stops the daemon if it still runs and starts it again (for the cleanup after a signal). */
  restart?: () => Promise<void>;
}

export interface LifecycleSamples {
  /** `crictl version`: the client's own start and connection plus one trivial RPC. */
  version: number[];
  run: number[];
  createStart: number[];
  stopRemove: number[];
}

async function oneLifecycle(
  side: Side,
  name: string,
  image: string,
): Promise<[number, number, number, number]> {
  const files = await writePodFiles({
    dir: side.podDir,
    name,
    image,
    cgroupParent: `${side.cgroupRoot}/${name}`,
    logDir: side.logDir,
  });
  const c = side.crictl;
  const version = await c.timed(["version"]);
  const run = await c.timed(["runp", files.pod]);
  const podId = run.out;
  const create = await c.timed(["create", podId, files.container, files.pod]);
  const start = await c.timed(["start", create.out]);
  const stop = await c.timed(["stopp", podId]);
  const rm = await c.timed(["rmp", podId]);
  return [version.ms, run.ms, create.ms + start.ms, stop.ms + rm.ms];
}

/**
 * `rounds` lifecycles per runtime after one warm-up each, alternating: berth first in even
 * rounds, containerd first in odd ones, so neither always runs on the other's leftovers.
 */
export async function lifecycleRounds(
  sides: readonly [Side, Side],
  rounds: number,
  image: string,
): Promise<Map<string, LifecycleSamples>> {
  const out = new Map<string, LifecycleSamples>();
  for (const s of sides) {
    await oneLifecycle(s, "warmup", image);
    out.set(s.name, { version: [], run: [], createStart: [], stopRemove: [] });
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides : ([sides[1], sides[0]] as const);
    for (const s of order) {
      const [version, run, createStart, stopRemove] = await oneLifecycle(s, `lc-${r}`, image);
      const samples = out.get(s.name)!;
      samples.version.push(version);
      samples.run.push(run);
      samples.createStart.push(createStart);
      samples.stopRemove.push(stopRemove);
    }
  }
  return out;
}

/** Adds pods `from`..`to-1`, each with one started container, `parallel` at a time. */
export async function fillPods(
  side: Side,
  from: number,
  to: number,
  image: string,
  parallel = 4,
): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const name = `mem-${next++}`;
      const files = await writePodFiles({
        dir: side.podDir,
        name,
        image,
        cgroupParent: `${side.cgroupRoot}/${name}`,
        logDir: side.logDir,
      });
      const podId = await side.crictl.run(["runp", files.pod]);
      const ctrId = await side.crictl.run(["create", podId, files.container, files.pod]);
      await side.crictl.run(["start", ctrId]);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** The runtime's memory with exactly `pods` running containers (checked through crictl). */
export async function memoryWithPods(side: Side, pods: number): Promise<MemoryFigures> {
  const running = (await side.crictl.run(["ps", "-q", "--state", "running"]))
    .split("\n")
    .filter((s) => s !== "").length;
  if (running !== pods) throw new Error(`${side.name}: ${running} running containers, not ${pods}`);
  const mem = await measureRuntime(side.daemonPid(), side.dir);
  if (mem.workloads !== pods) {
    throw new Error(`${side.name}: found ${mem.workloads} container processes, not ${pods}`);
  }
  return mem;
}

export interface PullCheck {
  /** Throws when the image (or, for containerd, its layer blobs) is still there after rmi. */
  afterRemove(side: Side): Promise<void>;
}

/** Pull times per runtime: the measured rounds, and the one warm-up pull before them. */
export interface PullTimes {
  rounds: Map<string, number[]>;
  warmup: Map<string, number>;
}

/**
 * One warm-up pull per runtime (as the lifecycle rounds have one warm-up: berth's first pull
 * after 10 s without layers starts its unpack worker again), then `rounds` pulls of `ref` per
 * runtime, alternating; the image removed after each.
 */
export async function pullRounds(
  sides: readonly [Side, Side],
  ref: string,
  rounds: number,
  check: PullCheck,
): Promise<PullTimes> {
  const out: PullTimes = { rounds: new Map(sides.map((s) => [s.name, []])), warmup: new Map() };
  const pullOnce = async (s: Side): Promise<number> => {
    const pull = await s.crictl.timed(["pull", ref]);
    await s.crictl.run(["rmi", ref]);
    await check.afterRemove(s);
    return pull.ms;
  };
  if (rounds === 0) return out;
  for (const s of sides) out.warmup.set(s.name, await pullOnce(s));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides : ([sides[1], sides[0]] as const);
    for (const s of order) out.rounds.get(s.name)!.push(await pullOnce(s));
  }
  return out;
}

/** containerd's content store path of a blob (to check that rmi really dropped the layers). */
export function containerdBlobPath(root: string, digest: string): string {
  const [algo, hex] = digest.split(":");
  return path.join(root, "io.containerd.content.v1.content", "blobs", algo ?? "", hex ?? "");
}

export function blobPresent(root: string, digest: string): boolean {
  return existsSync(containerdBlobPath(root, digest));
}
