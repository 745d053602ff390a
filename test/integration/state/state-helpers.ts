// Helpers for the state tests and the chaos suite: what really runs (processes, cgroups) next to
// what berth records.
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import type { PodEnv } from "../../support/pod-env.js";

export async function containerInfo(
  env: PodEnv,
  id: string,
): Promise<{ pid: number; cgroupPath: string }> {
  const res = await env.berthd.client.call.ContainerStatus({ container_id: id, verbose: true });
  const info = JSON.parse(res.info["info"] ?? "{}") as { pid?: number; cgroupPath?: string };
  expect(info.pid, "verbose pid").to.be.a("number");
  return { pid: info.pid!, cgroupPath: info.cgroupPath ?? "" };
}

/** Live pids in a cgroup (v1 memory hierarchy, as on the test hosts); [] once it is gone. */
export function cgroupProcs(cgroupPath: string, controller = "memory"): number[] {
  try {
    return readFileSync(path.join("/sys/fs/cgroup", controller, cgroupPath, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** Whether a pid is alive and not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Live conmon processes whose command line holds `needle` (a container or sandbox id). */
export function conmonPidsFor(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (comm !== "conmon" || !alive(Number(entry))) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv.includes(needle)) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** Pids of live processes whose command line holds `needle`. */
export function pidsWithArg(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv.includes(needle) && alive(Number(entry))) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}
