// What berth keeps about each pod sandbox and container, persisted as versioned JSON
// (src/store/record-store.ts, src/runtime/record-codecs.ts). The CRI state is derived from
// timestamps, never stored twice: created → started → finished; the named checks below are the
// only readers of those timestamps' "not yet" value.
import type { ContainerConfig__Output } from "../gen/runtime/v1/ContainerConfig.js";
import type { LinuxContainerResources__Output } from "../gen/runtime/v1/LinuxContainerResources.js";
import type { PodSandboxConfig__Output } from "../gen/runtime/v1/PodSandboxConfig.js";

/** Nanoseconds since the epoch; 0n = not yet. Decimal strings only on disk and on the wire. */
export type NsTime = bigint;

/**
 * What is fixed when the sandbox is made and never changes after (readonly, so a store update
 * cannot touch it). Only `config.linux`'s overhead and resources follow UpdatePodSandboxResources.
 */
export interface SandboxMeta {
  readonly version: 1;
  readonly id: string;
  /** `<name>_<namespace>_<uid>_<attempt>`: unique among sandboxes. */
  readonly name: string;
  readonly config: PodSandboxConfig__Output;
  readonly runtimeHandler: string;
  readonly createdAt: NsTime;
  /**
   * false: the pod has no infra process; its namespaces are the pinned files `netnsPath` and
   * `nsFiles` (drop_infra_ctr). Absent in records of earlier berths, which always had an infra.
   */
  readonly infra?: boolean;
  /** Pinned IPC and UTS namespace files of a pod without an infra (absent = the host's). */
  readonly nsFiles?: { readonly ipc?: string; readonly uts?: string };
  /** Infra container (the process that holds the pod's namespaces); 0 without an infra. */
  readonly infraPid: number;
  /** conmon watching the infra, and its start time (/proc/<pid>/stat field 22), "" unknown. */
  readonly conmonPid?: number;
  readonly conmonStartTime?: string;
  /** Start time of `infraPid` (/proc/<pid>/stat field 22). */
  readonly infraStartTime?: string;
  readonly hostNetwork: boolean;
  /** Bind-mounted network namespace file; "" for host network. */
  readonly netnsPath: string;
  /**
   * The host end of the pod's veth and the pod's interface it pairs (from CNI ADD's result),
   * when there is exactly one: a pod without an infra reads its network counters there while
   * none of its containers runs. Absent for other network shapes and in earlier records.
   */
  readonly hostVeth?: { readonly host: string; readonly pod: string };
  readonly cgroupParent: string;
  /** Per-sandbox files bind-mounted into its containers. */
  readonly files: { hostname: string; hosts: string; resolvConf: string; shm: string };
}

/** What changes over a sandbox's life. */
export interface SandboxStatus {
  /** Set once StopPodSandbox has run (the sandbox is then NOTREADY for good). */
  stoppedAt: NsTime;
  /**
   * When the infra process was seen to exit, or (without an infra) the pod's pinned namespaces
   * were found gone, e.g. after a reboot (0n while they live). Set only by SandboxService from
   * the infra's exit events (conmon's exit file, or recovery/monitor checks asking the runtime);
   * everyone else reads the state from here and never re-derives it from a pid.
   */
  infraExitedAt: NsTime;
  /** Pod IPs, primary first. */
  ips: string[];
  /** Whether CNI ADD succeeded and DEL is still owed. */
  networkAttached: boolean;
}

export type SandboxRecord = SandboxMeta & SandboxStatus;

/** What is fixed when the container is made and never changes after. */
export interface ContainerMeta {
  readonly version: 1;
  readonly id: string;
  readonly sandboxId: string;
  /** `<container>_<pod>_<namespace>_<uid>_<attempt>`: unique among containers. */
  readonly name: string;
  readonly config: ContainerConfig__Output;
  /** The image as asked for (config.image.image) and its resolved id (sha256:...). */
  readonly imageName: string;
  readonly imageId: string;
  readonly imageRef: string;
  /** Chain id of the image's top layer: keeps its snapshots alive while the container exists. */
  readonly topChainId: string;
  readonly runtimeHandler: string;
  readonly logPath: string;
  readonly createdAt: NsTime;
  readonly pid: number;
  /** Start time of `pid` (/proc/<pid>/stat field 22), so a reused pid is never taken for it. */
  readonly pidStartTime?: string;
  /** conmon watching the container and its start time (/proc/<pid>/stat field 22); "" unknown. */
  readonly conmonPid?: number;
  readonly conmonStartTime?: string;
  readonly cgroupPath: string;
  /** First signal of StopContainer (SIGTERM, SIGQUIT, ... or a number). */
  readonly stopSignal: string;
  /** The identity the process runs as, resolved at creation (ContainerStatus.user). */
  readonly user: { uid: number; gid: number; additionalGids: number[] };
}

/** What changes over a container's life: created → started → finished, and its resources. */
export interface ContainerStatus {
  startedAt: NsTime;
  finishedAt: NsTime;
  exitCode: number;
  reason: string;
  message: string;
  /** Resources as last applied (create or UpdateContainerResources). */
  resources: LinuxContainerResources__Output | null;
  /** Set when the container could not be started; it is then EXITED with this message. */
  startError: string;
  /**
   * After its exit: the runtime's state and the rootfs mount are gone (container-release.ts).
   * Absent in records of earlier berths and until then.
   */
  released?: boolean;
}

export type ContainerRecord = ContainerMeta & ContainerStatus;

export type ContainerStateName =
  "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";

type ContainerTimes = Pick<ContainerRecord, "startedAt" | "finishedAt" | "startError">;

/** Its exit is recorded (a finish time; a failed start records one too). */
export function hasExited(c: Pick<ContainerRecord, "finishedAt">): boolean {
  return c.finishedAt !== 0n;
}

/** Its process was seen to start (it may have exited since). */
export function wasStarted(c: Pick<ContainerRecord, "startedAt">): boolean {
  return c.startedAt !== 0n;
}

export function containerState(c: ContainerTimes): ContainerStateName {
  if (hasExited(c)) return "CONTAINER_EXITED";
  if (c.startError !== "") return "CONTAINER_EXITED";
  if (wasStarted(c)) return "CONTAINER_RUNNING";
  return "CONTAINER_CREATED";
}

/** StartContainer is allowed only once, from CREATED. */
export function canStart(c: ContainerTimes): boolean {
  return containerState(c) === "CONTAINER_CREATED";
}

export function isRunning(c: ContainerTimes): boolean {
  return containerState(c) === "CONTAINER_RUNNING";
}

export type SandboxStateName = "SANDBOX_READY" | "SANDBOX_NOTREADY";

/** Whether the pod has an infra process (records of earlier berths always did). */
export function hasInfra(s: Pick<SandboxRecord, "infra">): boolean {
  return s.infra !== false;
}

/** StopPodSandbox has run (for good: a stopped sandbox is never READY again). */
export function sandboxStopped(s: Pick<SandboxRecord, "stoppedAt">): boolean {
  return s.stoppedAt !== 0n;
}

/** The infra process's exit (or the loss of an infra-less pod's namespaces) is recorded. */
export function infraExited(s: Pick<SandboxRecord, "infraExitedAt">): boolean {
  return s.infraExitedAt !== 0n;
}

/** The record says the infra process runs: it was started and no exit is recorded. */
export function infraRunning(s: Pick<SandboxRecord, "infraExitedAt" | "infraPid">): boolean {
  return s.infraPid > 0 && !infraExited(s);
}

/**
 * READY until StopPodSandbox ran or the infra's exit (or the loss of an infra-less pod's
 * namespaces) was recorded; no pid is consulted.
 */
export function sandboxReady(
  s: Pick<SandboxRecord, "stoppedAt" | "infraExitedAt" | "infraPid" | "infra">,
): boolean {
  if (sandboxStopped(s)) return false;
  return hasInfra(s) ? infraRunning(s) : !infraExited(s);
}

export function sandboxState(
  s: Pick<SandboxRecord, "stoppedAt" | "infraExitedAt" | "infraPid" | "infra">,
): SandboxStateName {
  return sandboxReady(s) ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
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
