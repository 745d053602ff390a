// The infra container of a pod that shares one PID namespace (or of every pod, with
// drop_infra_ctr = false): catatonit as the pod's PID 1, run by the OCI runtime under conmon like
// any container, holding the pod's IPC and UTS namespaces and joining its netns file. Every
// step pushes its undo before it runs, so a failure (or a crash, through recovery) leaves nothing.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { FailedPreconditionError, errorMessage } from "../../errors.js";
import type { PodSandboxConfig__Output } from "../../gen/runtime/v1/PodSandboxConfig.js";
import { waitProcessGone } from "../../util/process-wait.js";
import type { StepTimer } from "../../util/step-timer.js";
import type { CleanupStack } from "../cleanup-stack.js";
import { createContainer } from "../oci/conmon.js";
import type { ExitEvent } from "../oci/exit-watcher.js";
import type { SandboxRecord } from "../records.js";
import { nowNs } from "../../util/time.js";
import type { SandboxDeps } from "../runtime-context.js";
import { buildSandboxSpec } from "../spec/sandbox-spec.js";

export interface InfraRequest {
  id: string;
  name: string;
  config: PodSandboxConfig__Output;
  handlerName: string;
  podDir: string;
  /** The OCI cgroupsPath of the pod's processes (driver form). */
  cgroupsPath: string;
  /** The pod's netns file; "" for host network. */
  netnsPath: string;
  hostname: string;
  /** The pod's /dev/shm mount; absent when the pod uses the host's IPC. */
  shmPath?: string;
  localhostSeccomp: Record<string, string>;
  undo: CleanupStack;
  steps: StepTimer;
  removeCgroups: () => Promise<void>;
}

/** Creates and starts the infra; answers its pid and its conmon's. */
export async function startInfra(
  ctx: SandboxDeps,
  req: InfraRequest,
): Promise<{ pid: number; conmonPid: number }> {
  const { id, name, handlerName, podDir, netnsPath, hostname, localhostSeccomp, undo, steps } = req;
  const { paths } = ctx;
  const bundle = paths.podBundle(id);
  const rootfs = path.join(bundle, "rootfs");
  await fs.mkdir(rootfs, { recursive: true, mode: 0o755 });
  const { spec, warnings } = buildSandboxSpec({
    config: req.config,
    ctx: {
      sandboxId: id,
      rootfsPath: rootfs,
      cgroupPath: req.cgroupsPath,
      initPath: ctx.config.infra_init_path,
      namespacePaths: netnsPath !== "" ? { net: netnsPath } : {},
      hostname,
      ...(req.shmPath !== undefined ? { shmPath: req.shmPath } : {}),
      seccomp: { localhost: localhostSeccomp },
      hostHas: ctx.hostFeatures,
      oomScoreAdjMin: ctx.oomScoreAdjMin,
      allCapabilities: ctx.allCapabilities,
    },
  });
  for (const w of warnings) ctx.log.info({ pod_sandbox_id: id, warning: w }, "sandbox spec");
  await fs.writeFile(path.join(bundle, "config.json"), JSON.stringify(spec));
  steps.mark("spec");

  const runtime = ctx.ociRuntime(handlerName);
  // Registered before the runtime runs: a create that fails half-way can leave cgroups.
  undo.push("remove pod cgroups", req.removeCgroups);
  undo.push("remove socket link", () => fs.rm(paths.socketLink(id), { force: true }));
  undo.push("remove exit file", () => fs.rm(path.join(paths.exitDir, id), { force: true }));
  await ctx.testPause("sandbox-spec", { pod_sandbox_id: id });
  const created = await createContainer(
    runtime,
    {
      id,
      name,
      bundle,
      logPath: path.join(podDir, "infra.log"),
      exitDir: paths.exitDir,
      persistDir: path.join(podDir, "userdata"),
      socketDir: paths.socketDir,
    },
    {
      conmonPath: ctx.config.conmon_path,
      launcher: ctx.launcher,
      logger: ctx.log,
    },
  );
  steps.mark("create");
  undo.push("delete infra", async () => {
    await runtime.delete(id, true);
    // conmon writes the exit file as it leaves: wait for it, so the file is removed after.
    await waitProcessGone(created.conmonPid, 2000);
  });
  await ctx.testPause("sandbox-created", { pod_sandbox_id: id });
  await runtime.start(id);
  steps.mark("start");
  return created;
}

/**
 * SIGKILLs a running infra and answers its exit: conmon's report, or (its conmon gone too, no
 * exit file) 137 once the runtime says it is not running.
 */
export async function killInfra(ctx: SandboxDeps, rec: SandboxRecord): Promise<ExitEvent> {
  const runtime = ctx.ociRuntime(rec.runtimeHandler);
  // Wait registered before the kill: the exit can be reported before `kill` returns.
  const exited = ctx.exits.wait(rec.id, 10_000);
  await runtime.kill(rec.id, "SIGKILL", true).catch((err: unknown) => {
    ctx.log.debug({ err: errorMessage(err) }, "kill infra");
  });
  const e = await exited;
  if (e) return e;
  const st = await runtime.state(rec.id).catch(() => undefined);
  if (st?.status === "running") {
    throw new FailedPreconditionError(`pod infra of ${rec.id} did not exit after SIGKILL`);
  }
  return { id: rec.id, exitCode: 137, finishedAt: nowNs() };
}
