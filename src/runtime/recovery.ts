// Startup recovery, before berthd serves (calls are answered UNAVAILABLE until it is done).
// Assumptions: records on disk were written before memory changed, so they are never ahead of
// reality by more than one step; conmon outlives berthd and writes each exit file even while
// berthd is down; the kernel keeps netns bind mounts and overlay mounts across a berthd crash
// (not across a reboot). So: load every record, reserve names, replay the exit files (the exit
// watcher's first scan), then reconcile what is left with the OCI runtime's own view, and
// remove directories no record owns (a crash in the middle of a create).
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { errorMessage } from "../errors.js";
import { unmount } from "../image/overlay-mount.js";
import { removeNetns } from "../network/netns.js";
import { unmountIfMounted } from "./sandbox/pod-files.js";
import {
  podNamespacesPinned,
  releaseOrphanPodNamespaces,
  releasePodNamespaces,
} from "./sandbox/pod-namespaces.js";
import { nowNs } from "../util/time.js";
import { bootTimeSeconds, processStartTime, startTimeToNs } from "../util/proc-identity.js";
import {
  containerState,
  hasInfra,
  infraExited,
  infraRunning,
  sandboxStopped,
  wasStarted,
} from "./records.js";
import type { RecoveryDeps } from "./runtime-context.js";
import { RuntimePaths } from "./paths.js";
import { deleteOrphanEverywhere, removeOrphanPodCgroups } from "./recovery-leftovers.js";

export async function loadRecords(ctx: RecoveryDeps): Promise<void> {
  await ctx.sandboxes.load(ctx.log);
  await ctx.containers.load(ctx.log);
  for (const s of ctx.sandboxes.list()) ctx.sandboxNames.reserve(s.name, s.id);
  for (const c of ctx.containers.list()) ctx.containerNames.reserve(c.name, c.id);
  ctx.log.info(
    { sandboxes: ctx.sandboxes.size, containers: ctx.containers.size },
    "records loaded",
  );
}

/**
 * When a container's process really started: its start time in /proc (ticks after boot), or
 * now when that cannot be read.
 */
async function processStartNs(pid: number): Promise<bigint> {
  const ticks = await processStartTime(pid);
  const boot = ticks !== "" ? await bootTimeSeconds() : undefined;
  return boot !== undefined ? startTimeToNs(ticks, boot) : nowNs();
}

/**
 * After the exit files were replayed, every container not yet EXITED is set to what the runtime
 * says (runc and crun check the init's start time themselves, so a reused pid does not fool
 * them): a CREATED record whose process runs (a crash between `start` and writing the start
 * time) becomes RUNNING with the process's start time — never started a second time; one the
 * runtime no longer has, or has stopped with no exit file, becomes EXITED.
 */
export async function reconcileContainers(ctx: RecoveryDeps): Promise<void> {
  await Promise.all(
    ctx.containers.list().map(async (c) => {
      const state = containerState(c);
      if (state === "CONTAINER_EXITED") return;
      try {
        const rt = await ctx.ociRuntime(c.runtimeHandler).state(c.id);
        const running = rt !== undefined && (rt.status === "running" || rt.status === "paused");
        if (running && state === "CONTAINER_CREATED") {
          const startedAt = await processStartNs(rt.pid > 0 ? rt.pid : c.pid);
          ctx.log.warn(
            { container_id: c.id, pid: rt.pid },
            "container was started while berthd went down; recording it as running",
          );
          await ctx.containers.update(c.id, (r) => {
            if (!wasStarted(r)) r.startedAt = startedAt;
          });
          return;
        }
        const gone = !rt || rt.status === "stopped";
        if (!gone) return;
        ctx.log.warn(
          { container_id: c.id, runtimeState: rt?.status ?? "absent" },
          "container gone while berthd was down, with no exit recorded",
        );
        await ctx.containers.update(c.id, (r) => {
          r.finishedAt = nowNs();
          r.exitCode = 255;
          r.reason = "Unknown";
          r.message = "the container ended while berthd was down and no exit status was recorded";
        });
      } catch (err) {
        ctx.log.error({ container_id: c.id, err: errorMessage(err) }, "cannot reconcile container");
      }
    }),
  );
}

/** Undoes what a RunPodSandbox interrupted by a crash had made: infra, network, mounts. */
async function removeOrphanPod(ctx: RecoveryDeps, id: string): Promise<void> {
  const { paths, runner } = ctx;
  await deleteOrphanEverywhere(ctx, id, path.join(paths.pod(id), "userdata"));
  const netns = path.join(paths.netnsDir, RuntimePaths.netnsName(id));
  if ((await ctx.cni.attachedSandboxIds()).includes(id)) {
    await ctx.cni.teardownPodNetwork({
      podName: "",
      namespace: "",
      uid: "",
      sandboxId: id,
      netnsPath: netns,
    });
  }
  await removeNetns(runner, netns);
  await releaseOrphanPodNamespaces(runner, paths.pod(id));
  await unmountIfMounted(path.join(paths.pod(id), "shm"), runner);
  await removeOrphanPodCgroups(ctx, paths.pod(id), id);
  await fs.rm(paths.pod(id), { recursive: true, force: true });
}

/** Releases CNI attachments (IPs, veths, rules) of sandboxes that have no record. */
export async function releaseOrphanNetworks(ctx: RecoveryDeps): Promise<void> {
  const live = new Set(ctx.sandboxes.list().map((s) => s.id));
  for (const id of await ctx.cni.attachedSandboxIds()) {
    if (live.has(id)) continue;
    ctx.log.warn({ pod_sandbox_id: id }, "releasing the network of a sandbox with no record");
    const netns = path.join(ctx.paths.netnsDir, RuntimePaths.netnsName(id));
    await ctx.cni
      .teardownPodNetwork({ podName: "", namespace: "", uid: "", sandboxId: id, netnsPath: netns })
      .catch((err: unknown) =>
        ctx.log.error({ pod_sandbox_id: id, err: errorMessage(err) }, "orphan CNI DEL failed"),
      );
    await removeNetns(ctx.runner, netns).catch(() => undefined);
  }
}

/**
 * Sandboxes whose infra process the runtime no longer runs (a reboot, or it died while berthd
 * was down with no exit file) get their infra's exit recorded through `infraGone` (the sandbox
 * service, the state's one owner). The runtime checks the init's start time itself, so a
 * reused pid never makes a dead pod READY. A pod without an infra lives as long as its pinned
 * namespace files do: they are gone after a reboot, and the pod with them.
 */
export async function reconcileSandboxes(
  ctx: RecoveryDeps,
  infraGone: (id: string) => Promise<void>,
): Promise<void> {
  await Promise.all(
    ctx.sandboxes.list().map(async (s) => {
      if (hasInfra(s) ? !infraRunning(s) : infraExited(s)) return;
      try {
        if (!hasInfra(s)) {
          if (sandboxStopped(s)) return;
          const files = { ...(s.netnsPath !== "" ? { net: s.netnsPath } : {}), ...s.nsFiles };
          if (await podNamespacesPinned(files)) return;
          ctx.log.warn({ pod_sandbox_id: s.id, files }, "pod namespaces gone");
          await infraGone(s.id);
          // What is left of them are plain files (CNI DEL refuses a netns path that is not a
          // namespace) or the rest of a partial loss: the pod is NOTREADY, they go now.
          await releasePodNamespaces(ctx.runner, files);
          return;
        }
        const rt = await ctx.ociRuntime(s.runtimeHandler).state(s.id);
        if (rt && rt.status === "running" && rt.pid === s.infraPid) return;
        ctx.log.warn(
          { pod_sandbox_id: s.id, runtimeState: rt?.status ?? "absent" },
          "pod infra gone",
        );
        await infraGone(s.id);
      } catch (err) {
        ctx.log.error({ pod_sandbox_id: s.id, err: errorMessage(err) }, "cannot reconcile sandbox");
      }
    }),
  );
}

/** Removes per-container and per-pod runtime dirs that no record owns. */
export async function removeOrphans(ctx: RecoveryDeps): Promise<void> {
  const { paths, runner } = ctx;
  const live = {
    containers: new Set(ctx.containers.list().map((c) => c.id)),
    pods: new Set(ctx.sandboxes.list().map((s) => s.id)),
  };
  const dirs: [string, Set<string>, (id: string) => Promise<void>][] = [
    [
      path.join(paths.state, "containers"),
      live.containers,
      async (id) => {
        await deleteOrphanEverywhere(ctx, id, paths.containerPersist(id));
        await unmount(paths.containerRootfs(id), runner);
        await fs.rm(paths.container(id), { recursive: true, force: true });
        await fs.rm(paths.containerLayer(id), { recursive: true, force: true });
      },
    ],
    [
      path.join(paths.root, "overlay"),
      live.containers,
      (id) => fs.rm(paths.containerLayer(id), { recursive: true, force: true }),
    ],
    [path.join(paths.state, "pods"), live.pods, (id) => removeOrphanPod(ctx, id)],
  ];
  for (const [dir, keep, clean] of dirs) {
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      continue;
    }
    for (const id of names) {
      if (keep.has(id)) continue;
      ctx.log.warn({ id, dir }, "removing orphaned directory");
      await clean(id).catch((err: unknown) =>
        ctx.log.error({ id, err: errorMessage(err) }, "orphan cleanup failed"),
      );
    }
  }
}
