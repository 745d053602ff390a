// What berth keeps about each pod sandbox and container, persisted as versioned JSON
// (src/runtime/store). The CRI state is derived from timestamps, never stored twice:
// created → started → finished.
import type { ContainerConfig__Output } from "../gen/runtime/v1/ContainerConfig.js";
import type { LinuxContainerResources__Output } from "../gen/runtime/v1/LinuxContainerResources.js";
import type { PodSandboxConfig__Output } from "../gen/runtime/v1/PodSandboxConfig.js";

export type NsTime = string; // int64 nanoseconds since the epoch, decimal; "0" = not yet

export interface SandboxRecord {
  version: 1;
  id: string;
  /** `<name>_<namespace>_<uid>_<attempt>`: unique among sandboxes. */
  name: string;
  config: PodSandboxConfig__Output;
  runtimeHandler: string;
  createdAt: NsTime;
  /** Set once StopPodSandbox has run (the sandbox is then NOTREADY for good). */
  stoppedAt: NsTime;
  /**
   * false: the pod has no infra process; its namespaces are the pinned files `netnsPath` and
   * `nsFiles` (drop_infra_ctr). Absent in records of earlier berths, which always had an infra.
   */
  infra?: boolean;
  /** Pinned IPC and UTS namespace files of a pod without an infra (absent = the host's). */
  nsFiles?: { ipc?: string; uts?: string };
  /** Infra container (the process that holds the pod's namespaces); 0 without an infra. */
  infraPid: number;
  /**
   * When the infra process was seen to exit, or (without an infra) the pod's pinned namespaces
   * were found gone, e.g. after a reboot ("0" while they live). Set only by SandboxService from
   * the infra's exit events (conmon's exit file, or recovery/monitor checks asking the runtime);
   * everyone else reads the state from here and never re-derives it from a pid.
   */
  infraExitedAt: NsTime;
  /** conmon watching the infra, and its start time (/proc/<pid>/stat field 22), "" unknown. */
  conmonPid?: number;
  conmonStartTime?: string;
  /** Start time of `infraPid` (/proc/<pid>/stat field 22). */
  infraStartTime?: string;
  hostNetwork: boolean;
  /** Bind-mounted network namespace file; "" for host network or after teardown. */
  netnsPath: string;
  /** Pod IPs, primary first. */
  ips: string[];
  /** Whether CNI ADD succeeded and DEL is still owed. */
  networkAttached: boolean;
  cgroupParent: string;
  /** Per-sandbox files bind-mounted into its containers. */
  files: { hostname: string; hosts: string; resolvConf: string; shm: string };
}

export interface ContainerRecord {
  version: 1;
  id: string;
  sandboxId: string;
  /** `<container>_<pod>_<namespace>_<uid>_<attempt>`: unique among containers. */
  name: string;
  config: ContainerConfig__Output;
  /** The image as asked for (config.image.image) and its resolved id (sha256:...). */
  imageName: string;
  imageId: string;
  imageRef: string;
  /** Chain id of the image's top layer: keeps its snapshots alive while the container exists. */
  topChainId: string;
  runtimeHandler: string;
  logPath: string;
  createdAt: NsTime;
  startedAt: NsTime;
  finishedAt: NsTime;
  exitCode: number;
  reason: string;
  message: string;
  pid: number;
  /** Start time of `pid` (/proc/<pid>/stat field 22), so a reused pid is never taken for it. */
  pidStartTime?: string;
  /** conmon watching the container and its start time (/proc/<pid>/stat field 22); "" unknown. */
  conmonPid?: number;
  conmonStartTime?: string;
  /** Resources as last applied (create or UpdateContainerResources). */
  resources: LinuxContainerResources__Output | null;
  cgroupPath: string;
  /** Set when the container could not be started; it is then EXITED with this message. */
  startError: string;
  /** First signal of StopContainer (SIGTERM, SIGQUIT, ... or a number). */
  stopSignal: string;
  /** The identity the process runs as, resolved at creation (ContainerStatus.user). */
  user: { uid: number; gid: number; additionalGids: number[] };
}

export type ContainerStateName =
  "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";

export function containerState(
  c: Pick<ContainerRecord, "startedAt" | "finishedAt" | "startError">,
): ContainerStateName {
  if (c.finishedAt !== "0") return "CONTAINER_EXITED";
  if (c.startError !== "") return "CONTAINER_EXITED";
  if (c.startedAt !== "0") return "CONTAINER_RUNNING";
  return "CONTAINER_CREATED";
}

export type SandboxStateName = "SANDBOX_READY" | "SANDBOX_NOTREADY";

/** Whether the pod has an infra process (records of earlier berths always did). */
export function hasInfra(s: Pick<SandboxRecord, "infra">): boolean {
  return s.infra !== false;
}

/**
 * READY until StopPodSandbox ran or the infra's exit (or the loss of an infra-less pod's
 * namespaces) was recorded; no pid is consulted.
 */
export function sandboxState(
  s: Pick<SandboxRecord, "stoppedAt" | "infraExitedAt" | "infraPid" | "infra">,
): SandboxStateName {
  return s.stoppedAt === "0" && s.infraExitedAt === "0" && (s.infraPid > 0 || !hasInfra(s))
    ? "SANDBOX_READY"
    : "SANDBOX_NOTREADY";
}

/** Container name as kubelet's naming scheme would make it unique. */
export function containerFullName(
  container: string,
  attempt: number,
  sandbox: PodSandboxConfig__Output,
): string {
  const m = sandbox.metadata;
  return [container, m?.name ?? "", m?.namespace ?? "", m?.uid ?? "", String(attempt)].join("_");
}

export function sandboxFullName(config: PodSandboxConfig__Output): string {
  const m = config.metadata;
  return [m?.name ?? "", m?.namespace ?? "", m?.uid ?? "", String(m?.attempt ?? 0)].join("_");
}
