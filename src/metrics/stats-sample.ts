// Plain data of one sampling pass over berth's pods and containers: what is sampled (targets,
// built from the runtime records) and what was read (samples). Both the Prometheus collector and
// the CRI stats RPCs are pure functions of a NodeSample.
import type { HostVeth } from "../network/host-veth.js";
import type { NetInterfaceStats } from "./netdev.js";
import type { ProcessCounts } from "./procfs.js";
import type { CgroupStats } from "../cgroup/index.js";

export interface ContainerTarget {
  id: string;
  podId: string;
  /** CRI metadata name (the `container` label). */
  name: string;
  attempt: number;
  /** The image as the user asked for it (the `image` label). */
  image: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Relative to each hierarchy's root; undefined when the record's path cannot be resolved. */
  cgroupPath: string | undefined;
  /** Only running containers are read; the others are reported by their attributes alone. */
  running: boolean;
  createdAtNs: bigint;
  startedAtNs: bigint;
}

export interface PodTarget {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The pod-level cgroup holding every process of the pod; undefined when there is none. */
  cgroupPath: string | undefined;
  /** The infra (pause) process's own cgroup, for the pod's process count. */
  infraCgroupPath: string | undefined;
  /** A process in the pod's network namespace; undefined for host network or a stopped pod. */
  netPid: number | undefined;
  /** Without netPid (a pod without an infra, none of its containers running): its veth's host
   *  end, read mirrored. */
  netVeth?: Readonly<HostVeth>;
  /** False once the pod is stopped: nothing is read then. */
  ready: boolean;
  createdAtNs: bigint;
  containers: ContainerTarget[];
}

/** One writable layer's disk usage, as last measured in the background. */
export interface LayerUsage {
  bytes: bigint;
  inodes: bigint;
  atNs: bigint;
}

export interface ContainerSample {
  target: ContainerTarget;
  /** Absent when the container is not running or its cgroup is gone. */
  cgroup?: CgroupStats;
  processes?: ProcessCounts;
  /** CPU rate since the previous sample, in nanocores; absent on the first sample. */
  nanoCores?: bigint;
  layer?: LayerUsage;
}

export interface PodSample {
  target: PodTarget;
  /** The pod cgroup's reading, or the sum of its containers' when it has no cgroup of its own. */
  cgroup?: CgroupStats;
  processes?: ProcessCounts;
  /** Interfaces of the pod's network namespace (loopback left out). */
  network?: NetInterfaceStats[];
  nanoCores?: bigint;
  containers: ContainerSample[];
}

export interface NodeSample {
  /** Wall-clock time of the sample, ns since the epoch. */
  atNs: bigint;
  pods: PodSample[];
}
