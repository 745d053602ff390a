// Runtime records → what a sampling pass reads: for each sandbox its pod cgroup, infra cgroup
// and network namespace process, and for each container its cgroup. Pure over the records.
import * as path from "node:path";
import {
  hasInfra,
  isRunning,
  sandboxReady,
  type ContainerRecord,
  type SandboxRecord,
} from "../runtime/records.js";
import {
  expandSystemdSlice,
  ociCgroupsPathToCgroupPath,
  type CgroupDriver,
} from "../cgroup/index.js";
import type { ContainerTarget, PodTarget } from "./stats-sample.js";

export interface TargetOptions {
  driver: CgroupDriver;
  /** The OCI cgroupsPath berth gives a process of the pod (SandboxService.cgroupsPath). */
  podProcessCgroupsPath: (cgroupParent: string, id: string) => string;
}

function tryPath(cgroupsPath: string, driver: CgroupDriver): string | undefined {
  try {
    return ociCgroupsPathToCgroupPath(cgroupsPath, driver);
  } catch {
    return undefined;
  }
}

/**
 * The pod-level cgroup. cgroupfs: the parent itself (kubelet's `/kubepods/.../pod<uid>` or
 * berth's default `/berth/<id>`). systemd: the parent slice when it is one; otherwise berth put
 * the pod's processes straight under berth.slice and the pod has no cgroup of its own.
 */
export function podCgroupPath(cgroupParent: string, driver: CgroupDriver): string | undefined {
  if (driver === "cgroupfs") return tryPath(cgroupParent, driver);
  if (!cgroupParent.endsWith(".slice")) return undefined;
  try {
    return expandSystemdSlice(path.posix.basename(cgroupParent));
  } catch {
    return undefined;
  }
}

export function containerTarget(
  rec: Readonly<ContainerRecord>,
  driver: CgroupDriver,
): ContainerTarget {
  return {
    id: rec.id,
    podId: rec.sandboxId,
    name: rec.config.metadata?.name ?? "",
    attempt: rec.config.metadata?.attempt ?? 0,
    image: rec.imageName,
    labels: rec.config.labels,
    annotations: rec.config.annotations,
    cgroupPath: rec.cgroupPath === "" ? undefined : tryPath(rec.cgroupPath, driver),
    running: isRunning(rec),
    createdAtNs: rec.createdAt,
    startedAtNs: rec.startedAt,
  };
}

export function buildTargets(
  sandboxes: Iterable<Readonly<SandboxRecord>>,
  containers: Iterable<Readonly<ContainerRecord>>,
  opts: TargetOptions,
): PodTarget[] {
  const byPod = new Map<string, ContainerTarget[]>();
  /**
   * A running container's process per pod: in a pod without an infra it is the only process in
   * the pod's netns whose /proc/<pid>/net/dev can be read. Its state, like the infra's, is set
   * by exit events, so a pid is not re-checked here either.
   */
  const runningPid = new Map<string, number>();
  for (const c of containers) {
    const list = byPod.get(c.sandboxId) ?? [];
    list.push(containerTarget(c, opts.driver));
    byPod.set(c.sandboxId, list);
    if (c.pid > 0 && isRunning(c) && !runningPid.has(c.sandboxId)) {
      runningPid.set(c.sandboxId, c.pid);
    }
  }
  const pods: PodTarget[] = [];
  for (const s of sandboxes) {
    const m = s.config.metadata;
    // The sandbox's own state (set by its infra's exit events): a pid is never re-checked here,
    // where a reused one would point the network readings at a stranger.
    const ready = sandboxReady(s);
    const infra = hasInfra(s);
    const netPid = !ready || s.hostNetwork ? undefined : infra ? s.infraPid : runningPid.get(s.id);
    pods.push({
      id: s.id,
      name: m?.name ?? "",
      namespace: m?.namespace ?? "",
      uid: m?.uid ?? "",
      attempt: m?.attempt ?? 0,
      labels: s.config.labels,
      annotations: s.config.annotations,
      cgroupPath: podCgroupPath(s.cgroupParent, opts.driver),
      infraCgroupPath: infra
        ? tryPath(opts.podProcessCgroupsPath(s.cgroupParent, s.id), opts.driver)
        : undefined,
      netPid,
      ...(ready && netPid === undefined && !s.hostNetwork && s.hostVeth
        ? { netVeth: s.hostVeth }
        : {}),
      ready,
      createdAtNs: s.createdAt,
      containers: byPod.get(s.id) ?? [],
    });
  }
  return pods;
}
