// CreateContainer, StartContainer, StopContainer, RemoveContainer, ContainerStatus,
// ListContainers, StreamContainers, ExecSync, UpdateContainerResources, ReopenContainerLog.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { FailedPreconditionError, InvalidArgumentError, isErrno } from "../errors.js";
import {
  createContainerInSandbox,
  validateContainerConfig,
} from "../runtime/container/container-create.js";
import { containerFullName, type SandboxRecord } from "../runtime/records.js";
import type { ContainerConfig__Output } from "../gen/runtime/v1/ContainerConfig.js";
import { LateCreations } from "../util/late-creations.js";
import { checkArgv } from "../validate/container-config.js";
import { quote } from "../validate/text.js";
import { validateResources } from "../validate/resources.js";
import { execSyncReply } from "./exec-sync-reply.js";
import type { CriHandlers } from "./handlers.js";
import type { PodDeps } from "./pod-sandboxes.js";
import { chunks, containerMatches, containerStatusView, containerView } from "./runtime-views.js";

/** The OCI spec the container was created with (as `crictl inspect` shows containerd's). */
async function readRuntimeSpec(bundle: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(path.join(bundle, "config.json"), "utf8")) as unknown;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return undefined;
    throw err;
  }
}

/**
 * Node's timers fire at once for delays over 2^31-1 ms (about 24.8 days), and the runtime adds
 * a grace period to the delay it is given: 24 days is the longest wait that survives both.
 */
const MAX_TIMER_SECONDS = 24 * 24 * 3600;

/**
 * A CRI timeout in seconds. Longer than a timer can wait is clamped to the longest it can:
 * passed through, 12582912 s would have timed out at once.
 */
function seconds(value: string, field: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError(field, `${quote(value)} is not a number of seconds`);
  return Math.min(n, MAX_TIMER_SECONDS);
}

export function containerHandlers(deps: PodDeps): CriHandlers {
  const { ctx, sandboxes, containers } = deps;
  const resourceHost = ctx.hostFeatures;
  const list = (filter: Parameters<typeof containerMatches>[1]) => {
    const out = [];
    for (const rec of ctx.containers.peek())
      if (containerMatches(rec, filter)) out.push(containerView(rec));
    return out;
  };

  const create = async (found: SandboxRecord, cfg: ContainerConfig__Output): Promise<string> => {
    if (!sandboxes.isReady(found)) {
      throw new FailedPreconditionError(`pod sandbox ${found.id} is not ready`);
    }
    const rec = await sandboxes.withPodShared(found.id, (sandbox) => {
      // Checked again under the lock: the pod may have been stopped while this call waited.
      if (!sandboxes.isReady(sandbox)) {
        throw new FailedPreconditionError(`pod sandbox ${sandbox.id} is not ready`);
      }
      return createContainerInSandbox(
        ctx,
        sandbox,
        cfg,
        (parent, id) => sandboxes.cgroupsPath(parent, id),
        (target) => containers.runningPid(target),
      );
    });
    return rec.id;
  };

  // A retry of a CreateContainer whose first call outlived its deadline gets what it made.
  const late = new LateCreations();

  return {
    CreateContainer: async (req, { signal }) => {
      const found = ctx.sandboxes.resolve(req.pod_sandbox_id);
      const cfg = validateContainerConfig(req.config, resourceHost);
      const name = containerFullName(cfg.metadata!.name, cfg.metadata!.attempt, found.config);
      const id = await late.run(
        name,
        signal,
        (id) => ctx.containers.get(id) !== undefined,
        () => create(found, cfg),
      );
      return { container_id: id };
    },

    StartContainer: async (req) => {
      const rec = ctx.containers.resolve(req.container_id);
      await sandboxes.withPodShared(rec.sandboxId, () => containers.start(rec.id));
      return {};
    },

    StopContainer: async (req) => {
      await containers.stop(req.container_id, seconds(req.timeout, "timeout"));
      return {};
    },

    RemoveContainer: async (req) => {
      await containers.remove(req.container_id);
      return {};
    },

    ContainerStatus: async (req) => {
      const rec = ctx.containers.resolve(req.container_id);
      const info: Record<string, string> = {};
      if (req.verbose) {
        const bundle = ctx.paths.containerBundle(rec.id);
        const runtimeSpec = await readRuntimeSpec(bundle);
        info.info = JSON.stringify({
          pid: rec.pid,
          sandboxID: rec.sandboxId,
          runtimeHandler: rec.runtimeHandler,
          cgroupPath: rec.cgroupPath,
          bundle,
          config: rec.config,
          runtimeSpec,
        });
      }
      return { status: containerStatusView(rec), info };
    },

    ListContainers: async (req) => ({ containers: list(req.filter) }),

    StreamContainers: async function* (req) {
      for (const part of chunks(list(req.filter))) yield { containers: part };
    },

    ExecSync: async (req, { log, signal }) => {
      if (req.cmd.length === 0 || req.cmd[0] === "") {
        throw new InvalidArgumentError("cmd", "must name a command");
      }
      checkArgv("cmd", req.cmd);
      const res = await containers.execSync(
        req.container_id,
        req.cmd,
        seconds(req.timeout, "timeout"),
        signal,
      );
      const { truncated, ...reply } = execSyncReply(res);
      if (truncated || res.truncated) {
        log.info(
          { stdout_bytes: reply.stdout.length, stderr_bytes: reply.stderr.length },
          "exec output cut to fit the 16 MiB message limit",
        );
      }
      return reply;
    },

    UpdateContainerResources: async (req) => {
      // The same check as CreateContainer's, before the container is even looked up.
      if (req.linux) validateResources(req.linux, "linux", resourceHost);
      await containers.updateResources(req.container_id, req.linux);
      return {};
    },

    ReopenContainerLog: async (req) => {
      await containers.reopenLog(req.container_id);
      return {};
    },
  };
}
