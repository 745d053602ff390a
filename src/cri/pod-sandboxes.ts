// RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox,
// StreamPodSandboxes, UpdatePodSandboxResources.
import type { ContainerService } from "../runtime/container/container-service.js";
import type { RuntimeContext } from "../runtime/runtime-context.js";
import { hasInfra, sandboxState, sandboxStopped } from "../runtime/records.js";
import { sandboxFullName } from "../runtime/records.js";
import type { PodContainers } from "../runtime/sandbox/pod-teardown.js";
import type { SandboxService } from "../runtime/sandbox/sandbox-service.js";
import { LateCreations } from "../util/late-creations.js";
import { nowNs } from "../util/time.js";
import { validateResources } from "../validate/resources.js";
import type { CriHandlers } from "./handlers.js";
import {
  chunks,
  containerStatusView,
  sandboxMatches,
  sandboxStatusView,
  sandboxView,
} from "./runtime-views.js";

export interface PodDeps {
  ctx: RuntimeContext;
  sandboxes: SandboxService;
  containers: ContainerService;
}

export function podSandboxHandlers(deps: PodDeps): CriHandlers {
  const { ctx, sandboxes, containers } = deps;
  // The sandbox service owns the state (set by the infra's exit events); this only reads it.
  const stateOf = sandboxState;
  // Killed (timeout 0, as containerd's StopPodSandbox), then released: their runtime state and
  // rootfs mount go at StopPodSandbox, not at RemovePodSandbox.
  const each = (sandboxId: string, fn: (id: string) => Promise<void>) =>
    Promise.all(containers.idsInSandbox(sandboxId).map(fn)).then(() => undefined);
  const podContainers: PodContainers = {
    kill: (sandboxId) => each(sandboxId, (id) => containers.stop(id, 0)),
    release: (sandboxId) => each(sandboxId, (id) => containers.release(id)),
    remove: (sandboxId) => each(sandboxId, (id) => containers.remove(id)),
  };
  const list = (filter: Parameters<typeof sandboxMatches>[2]) =>
    // kubelet relists often: read the records in place instead of copying each one.
    [...ctx.sandboxes.peek()]
      .map((rec) => ({ rec, state: stateOf(rec) }))
      .filter(({ rec, state }) => sandboxMatches(rec, state, filter))
      .map(({ rec, state }) => sandboxView(rec, state));

  // A retry of a RunPodSandbox whose first call outlived its deadline gets the pod it made.
  const late = new LateCreations();

  return {
    RunPodSandbox: async (req, { signal }) => {
      const name = sandboxFullName(sandboxes.validate(req.config));
      let made = false;
      const id = await late.run(
        name,
        signal,
        (id) => ctx.sandboxes.get(id) !== undefined,
        async () => {
          made = true;
          return sandboxes.run(req.config, req.runtime_handler);
        },
      );
      if (made) {
        ctx.events.publish(id, id, "CONTAINER_CREATED_EVENT");
        ctx.events.publish(id, id, "CONTAINER_STARTED_EVENT");
      }
      return { pod_sandbox_id: id };
    },

    StopPodSandbox: async (req) => {
      const before = ctx.sandboxes.find(req.pod_sandbox_id);
      await sandboxes.stop(req.pod_sandbox_id, podContainers);
      if (before && !sandboxStopped(before)) {
        ctx.events.publish(before.id, before.id, "CONTAINER_STOPPED_EVENT");
      }
      return {};
    },

    RemovePodSandbox: async (req) => {
      const before = ctx.sandboxes.find(req.pod_sandbox_id);
      await sandboxes.remove(req.pod_sandbox_id, podContainers);
      if (before) ctx.events.publish(before.id, before.id, "CONTAINER_DELETED_EVENT");
      return {};
    },

    GetContainerEvents: async function* (_req, call) {
      for await (const e of ctx.events.subscribe(call.signal)) {
        const sandbox = ctx.sandboxes.get(e.sandboxId);
        const statuses = [];
        for (const c of ctx.containers.peek()) {
          if (c.sandboxId === e.sandboxId) statuses.push(containerStatusView(c));
        }
        yield {
          container_id: e.id,
          container_event_type: e.type,
          created_at: e.at.toString(),
          pod_sandbox_status: sandbox ? sandboxStatusView(sandbox, stateOf(sandbox)) : null,
          containers_statuses: statuses,
        };
      }
    },

    PodSandboxStatus: async (req) => {
      const rec = ctx.sandboxes.resolve(req.pod_sandbox_id);
      const state = stateOf(rec);
      const info: Record<string, string> = {};
      if (req.verbose) {
        info.info = JSON.stringify({
          pid: rec.infraPid,
          infra: hasInfra(rec),
          netnsPath: rec.netnsPath,
          ...(rec.nsFiles ? { namespaceFiles: rec.nsFiles } : {}),
          cgroupParent: rec.cgroupParent,
          runtimeHandler: rec.runtimeHandler,
          config: rec.config,
        });
      }
      return {
        status: sandboxStatusView(rec, state),
        info,
        containers_statuses: [...ctx.containers.peek()]
          .filter((c) => c.sandboxId === rec.id)
          .map(containerStatusView),
        timestamp: nowNs().toString(),
      };
    },

    ListPodSandbox: async (req) => ({ items: list(req.filter) }),

    StreamPodSandboxes: async function* (req) {
      for (const part of chunks(list(req.filter))) yield { pod_sandboxes: part };
    },

    UpdatePodSandboxResources: async (req) => {
      // kubelet resizes the pod cgroup (cgroup_parent) itself; the runtime records the new
      // overhead and resources so its status and later decisions see them, as containerd does.
      const host = ctx.hostFeatures;
      if (req.overhead) validateResources(req.overhead, "overhead", host);
      if (req.resources) validateResources(req.resources, "resources", host);
      const rec = ctx.sandboxes.resolve(req.pod_sandbox_id);
      await ctx.sandboxes.update(rec.id, (r) => {
        if (!r.config.linux) return;
        if (req.overhead) r.config.linux.overhead = req.overhead;
        if (req.resources) r.config.linux.resources = req.resources;
      });
      return {};
    },
  };
}
