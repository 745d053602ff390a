// Records as kubelet sees them: PodSandbox, PodSandboxStatus, Container, ContainerStatus, and the
// list filters. Labels and annotations are echoed byte for byte from what kubelet sent.
import type { ContainerFilter__Output } from "../gen/runtime/v1/ContainerFilter.js";
import type { PodSandboxFilter__Output } from "../gen/runtime/v1/PodSandboxFilter.js";
import type { Container } from "../gen/runtime/v1/Container.js";
import type { ContainerStatus } from "../gen/runtime/v1/ContainerStatus.js";
import type { PodSandbox } from "../gen/runtime/v1/PodSandbox.js";
import type { PodSandboxStatus } from "../gen/runtime/v1/PodSandboxStatus.js";
import {
  type ContainerRecord,
  type SandboxRecord,
  type SandboxStateName,
  containerState,
  hasExited,
} from "../runtime/records.js";

export function sandboxView(rec: SandboxRecord, state: SandboxStateName): PodSandbox {
  return {
    id: rec.id,
    metadata: rec.config.metadata,
    state,
    created_at: rec.createdAt.toString(),
    labels: rec.config.labels,
    annotations: rec.config.annotations,
    runtime_handler: rec.runtimeHandler,
  };
}

export function sandboxStatusView(rec: SandboxRecord, state: SandboxStateName): PodSandboxStatus {
  // Once the network is torn down (StopPodSandbox) its addresses may belong to another pod.
  const [ip, ...more] = rec.networkAttached ? rec.ips : [];
  return {
    id: rec.id,
    metadata: rec.config.metadata,
    state,
    created_at: rec.createdAt.toString(),
    network: { ip: ip ?? "", additional_ips: more.map((a) => ({ ip: a })) },
    linux: {
      namespaces: {
        options: rec.config.linux?.security_context?.namespace_options ?? {
          network: "POD",
          pid: "CONTAINER",
          ipc: "POD",
        },
      },
    },
    labels: rec.config.labels,
    annotations: rec.config.annotations,
    runtime_handler: rec.runtimeHandler,
  };
}

function imageSpec(rec: ContainerRecord) {
  return {
    image: rec.imageId,
    annotations: rec.config.image?.annotations ?? {},
    user_specified_image: rec.imageName,
    runtime_handler: rec.config.image?.runtime_handler ?? "",
  };
}

export function containerView(rec: ContainerRecord): Container {
  return {
    id: rec.id,
    pod_sandbox_id: rec.sandboxId,
    metadata: rec.config.metadata,
    image: imageSpec(rec),
    image_ref: rec.imageRef,
    image_id: rec.imageId,
    state: containerState(rec),
    created_at: rec.createdAt.toString(),
    labels: rec.config.labels,
    annotations: rec.config.annotations,
  };
}

export function containerStatusView(rec: ContainerRecord): ContainerStatus {
  return {
    id: rec.id,
    metadata: rec.config.metadata,
    state: containerState(rec),
    created_at: rec.createdAt.toString(),
    started_at: rec.startedAt.toString(),
    finished_at: rec.finishedAt.toString(),
    exit_code: hasExited(rec) ? rec.exitCode : 0,
    image: imageSpec(rec),
    image_ref: rec.imageRef,
    image_id: rec.imageId,
    reason: rec.reason,
    message: rec.message,
    labels: rec.config.labels,
    annotations: rec.config.annotations,
    mounts: rec.config.mounts,
    log_path: rec.logPath,
    resources: rec.resources ? { linux: rec.resources } : null,
    user: rec.user
      ? {
          linux: {
            uid: String(rec.user.uid),
            gid: String(rec.user.gid),
            supplemental_groups: rec.user.additionalGids.map(String),
          },
        }
      : null,
    stop_signal: rec.config.stop_signal,
  };
}

function labelsMatch(labels: Record<string, string>, selector: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

export function sandboxMatches(
  rec: SandboxRecord,
  state: SandboxStateName,
  f: PodSandboxFilter__Output | null,
): boolean {
  if (!f) return true;
  if (f.id !== "" && !rec.id.startsWith(f.id)) return false;
  if (f.state && f.state.state !== state) return false;
  return labelsMatch(rec.config.labels, f.label_selector);
}

export function containerMatches(
  rec: Readonly<ContainerRecord>,
  f: ContainerFilter__Output | null,
): boolean {
  if (!f) return true;
  if (f.id !== "" && !rec.id.startsWith(f.id)) return false;
  if (f.pod_sandbox_id !== "" && !rec.sandboxId.startsWith(f.pod_sandbox_id)) return false;
  if (f.state && f.state.state !== containerState(rec)) return false;
  return labelsMatch(rec.config.labels, f.label_selector);
}

/** Splits a list into chunks for the Stream* RPCs (each message well under 16 MiB). */
export function* chunks<T>(items: readonly T[], size = 500): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
