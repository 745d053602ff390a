// Shared by the runtime-behaviour tests: run a one-shot container in a pod and collect its exit
// and output, read a container's cgroup path from its verbose status, and check that a berthd
// left nothing behind (mounts, pod cgroups, netns files, conmon processes).
import { existsSync, promises as fs, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import type { ContainerConfig } from "../../../src/gen/runtime/v1/ContainerConfig.js";
import type { PodSandboxConfig } from "../../../src/gen/runtime/v1/PodSandboxConfig.js";
import { parseCriLog } from "../../../src/runtime/oci/cri-log.js";
import { containerConfig, eventually, podConfig, type PodEnv } from "../../support/pod-env.js";

export interface OneShot {
  exitCode: number;
  reason: string;
  /** stdout and stderr lines, in log order. */
  lines: string[];
  /** The lines joined with "\n", for error messages and `include` checks. */
  text: string;
}

export interface Pod {
  id: string;
  config: PodSandboxConfig;
}

/** Runs a pod and remembers its id in `created` (for the leftover checks). */
export async function runPod(
  env: PodEnv,
  name: string,
  created: Set<string>,
  extra: Partial<PodSandboxConfig> = {},
  runtimeHandler = "",
): Promise<Pod> {
  const config = podConfig(env, name, extra);
  const { pod_sandbox_id: id } = await env.berthd.client.call.RunPodSandbox({
    config,
    runtime_handler: runtimeHandler,
  });
  created.add(id);
  return { id, config };
}

export async function removePod(env: PodEnv, pod: Pod): Promise<void> {
  await env.berthd.client.call.StopPodSandbox({ pod_sandbox_id: pod.id });
  await env.berthd.client.call.RemovePodSandbox({ pod_sandbox_id: pod.id });
}

export async function createContainer(
  env: PodEnv,
  pod: Pod,
  name: string,
  command: string[],
  extra: Partial<ContainerConfig> = {},
): Promise<string> {
  const { container_id: id } = await env.berthd.client.call.CreateContainer({
    pod_sandbox_id: pod.id,
    config: containerConfig(env, name, command, extra),
    sandbox_config: pod.config,
  });
  return id;
}

export async function waitState(env: PodEnv, id: string, state: string): Promise<void> {
  await eventually(async () => {
    const s = await env.berthd.client.call.ContainerStatus({ container_id: id });
    expect(s.status!.state).to.equal(state);
  });
}

/** Creates and starts a container running `sh -c script`, waits for its exit, removes it. */
export async function runOnce(
  env: PodEnv,
  pod: Pod,
  name: string,
  script: string,
  extra: Partial<ContainerConfig> = {},
): Promise<OneShot> {
  const c = env.berthd.client.call;
  const id = await createContainer(env, pod, name, ["/bin/sh", "-c", script], extra);
  try {
    await c.StartContainer({ container_id: id });
    const st = await eventually(async () => {
      const s = (await c.ContainerStatus({ container_id: id })).status!;
      expect(s.state).to.equal("CONTAINER_EXITED");
      return s;
    }, 30_000);
    const lines = parseCriLog(await fs.readFile(st.log_path, "utf8")).map((e) => e.content);
    return { exitCode: st.exit_code, reason: st.reason, lines, text: lines.join("\n") };
  } finally {
    await c.RemoveContainer({ container_id: id });
  }
}

/** The verbose ContainerStatus info (berth's JSON under "info"). */
export async function verboseInfo(env: PodEnv, id: string): Promise<Record<string, unknown>> {
  const res = await env.berthd.client.call.ContainerStatus({ container_id: id, verbose: true });
  const info = res.info["info"];
  expect(info, "verbose info").to.be.a("string");
  return JSON.parse(info!) as Record<string, unknown>;
}

export async function memoryCgroupDir(env: PodEnv, id: string): Promise<string> {
  const cgroupPath = (await verboseInfo(env, id))["cgroupPath"];
  expect(cgroupPath).to.be.a("string").and.match(/^\//);
  return path.join("/sys/fs/cgroup/memory", cgroupPath as string);
}

/** Process ids of live (non-zombie) conmon processes whose command line names `dir`. */
export function conmonPidsUnder(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
      if (comm !== "conmon" || state === "Z") continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(dir)) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/**
 * Removes every pod through the CRI, then checks berthd left nothing of them: no mount under its
 * directories, no pod cgroup in any controller, no netns file, no live conmon of its own.
 */
export async function expectNothingLeft(env: PodEnv, podIds: ReadonlySet<string>): Promise<void> {
  const c = env.berthd.client.call;
  for (const p of (await c.ListPodSandbox({})).items) {
    await c.StopPodSandbox({ pod_sandbox_id: p.id });
    await c.RemovePodSandbox({ pod_sandbox_id: p.id });
  }
  expect((await c.ListContainers({})).containers).to.deep.equal([]);
  const dir = env.berthd.dir;
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(dir));
  expect(mounts, "mounts under berthd's dirs").to.deep.equal([]);
  expect(podIds.size).to.be.greaterThan(0);
  for (const id of podIds) {
    for (const ctl of ["memory", "pids", "cpu", "freezer"]) {
      const cg = `/sys/fs/cgroup/${ctl}/berth/${id}`;
      expect(existsSync(cg), cg).to.equal(false);
    }
  }
  const netnsDir = path.join(env.berthd.state, "netns");
  const netns = existsSync(netnsDir) ? readdirSync(netnsDir) : [];
  expect(netns, "netns files").to.deep.equal([]);
  await eventually(async () => {
    expect(conmonPidsUnder(dir), "conmon processes").to.deep.equal([]);
  }, 5000);
}
