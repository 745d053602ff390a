// Containers after creation: start, stop (signal, grace period, SIGKILL), remove, exec, resource
// updates, log reopening, and the bookkeeping when conmon reports an exit.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import {
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  errorMessage,
} from "../../errors.js";
import type { LinuxContainerResources__Output } from "../../gen/runtime/v1/LinuxContainerResources.js";
import { unmount } from "../../image/overlay-mount.js";
import { KeyedMutex } from "../../util/keyed-mutex.js";
import { nowNs } from "../../util/time.js";
import { unmountIfMounted } from "../sandbox/pod-files.js";
import { processAlive, reopenLog } from "../oci/conmon.js";
import { wasOomKilled } from "../oci/exit-file.js";
import type { ExitEvent } from "../oci/exit-watcher.js";
import type { ExecSyncResult } from "../oci/oci-runtime.js";
import { type ContainerRecord, containerState } from "../records.js";
import type { RuntimeContext } from "../runtime-context.js";
import { resourcesToOci } from "../spec/resources.js";

/** Grace after SIGKILL for conmon to record the exit. */
const KILL_WAIT_MS = 10_000;

export class ContainerService {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly ctx: RuntimeContext,
    /** Memory cgroup dir of a cgroupsPath, for the OOM check (undefined when unknown). */
    private readonly memoryCgroupDir: (cgroupsPath: string) => string | undefined,
  ) {}

  async start(idOrPrefix: string): Promise<void> {
    const rec = this.ctx.containers.resolve(idOrPrefix);
    await this.locks.run(rec.id, async () => {
      const cur = this.ctx.containers.get(rec.id)!;
      const state = containerState(cur);
      if (state !== "CONTAINER_CREATED") {
        throw new FailedPreconditionError(`container ${cur.id} is ${state}, not CONTAINER_CREATED`);
      }
      const sandbox = this.ctx.sandboxes.get(cur.sandboxId);
      if (!sandbox || sandbox.stoppedAt !== "0") {
        throw new FailedPreconditionError(
          `pod sandbox ${cur.sandboxId} of container ${cur.id} is not ready`,
        );
      }
      const runtime = this.ctx.ociRuntime(cur.runtimeHandler);
      // Taken before the start: a process that exits at once must not finish before it started.
      const startedAt = nowNs().toString();
      try {
        await runtime.start(cur.id);
      } catch (err) {
        const now = nowNs().toString();
        await this.ctx.containers.update(cur.id, (r) => {
          r.startError = errorMessage(err);
          r.finishedAt = now;
          r.exitCode = 128;
          r.reason = "StartError";
          r.message = errorMessage(err);
        });
        throw new FailedPreconditionError(
          `cannot start container ${cur.id}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      await this.ctx.containers.update(cur.id, (r) => {
        if (r.startedAt === "0") r.startedAt = startedAt;
      });
      this.ctx.events.publish(cur.id, cur.sandboxId, "CONTAINER_STARTED_EVENT");
    });
  }

  /**
   * Sends the stop signal, waits up to `timeoutSeconds`, then SIGKILLs. Returns when the exit is
   * recorded. Unknown ids and containers that are not running succeed.
   */
  async stop(idOrPrefix: string, timeoutSeconds: number): Promise<void> {
    const found = this.ctx.containers.find(idOrPrefix);
    if (!found) return;
    await this.locks.run(found.id, () => this.stopLocked(found.id, timeoutSeconds));
  }

  private async stopLocked(id: string, timeoutSeconds: number): Promise<void> {
    const rec = this.ctx.containers.get(id);
    if (!rec) return;
    const state = containerState(rec);
    if (state === "CONTAINER_EXITED") return;
    const runtime = this.ctx.ociRuntime(rec.runtimeHandler);
    if (state === "CONTAINER_CREATED") {
      // Never started: there is nothing to signal but the runtime's waiting init.
      const waiting = this.ctx.exits.wait(rec.id, KILL_WAIT_MS);
      await runtime.kill(rec.id, "SIGKILL").catch(() => undefined);
      await waiting;
      await this.markExited(rec.id, { exitCode: 137, finishedAt: nowNs(), reasonOverride: "" });
      return;
    }
    const log = this.ctx.log.child({ container_id: rec.id });
    if (timeoutSeconds > 0) {
      const signal = /^\d+$/.test(rec.stopSignal)
        ? Number(rec.stopSignal)
        : (rec.stopSignal as NodeJS.Signals);
      const waiting = this.ctx.exits.wait(rec.id, timeoutSeconds * 1000);
      try {
        await runtime.kill(rec.id, signal);
      } catch (err) {
        log.debug({ err: errorMessage(err) }, "stop signal");
      }
      const exited = await waiting;
      if (exited) return this.onExit(exited);
      log.info({ timeoutSeconds }, "container ignored its stop signal; killing it");
    }
    const killed = this.ctx.exits.wait(rec.id, KILL_WAIT_MS);
    await runtime.kill(rec.id, "SIGKILL", true).catch((err: unknown) => {
      log.debug({ err: errorMessage(err) }, "kill");
    });
    const exited = await killed;
    if (exited) return this.onExit(exited);
    if (rec.pid > 0 && processAlive(rec.pid)) {
      throw new DeadlineExceededError(`container ${rec.id} did not exit after SIGKILL`);
    }
  }

  /** Records an exit conmon reported (or that recovery found). */
  async onExit(e: ExitEvent): Promise<void> {
    if (!this.ctx.containers.get(e.id)) return;
    await this.markExited(e.id, {
      exitCode: e.exitCode,
      finishedAt: e.finishedAt,
      reasonOverride: undefined,
    });
  }

  private async markExited(
    id: string,
    e: { exitCode: number; finishedAt: bigint; reasonOverride: string | undefined },
  ): Promise<void> {
    const rec = this.ctx.containers.get(id);
    if (!rec || rec.finishedAt !== "0") return;
    const memDir = this.memoryCgroupDir(rec.cgroupPath);
    const oom = await wasOomKilled(this.ctx.paths.containerPersist(id), memDir).catch(() => false);
    const reason =
      e.reasonOverride ?? (oom ? "OOMKilled" : e.exitCode === 0 ? "Completed" : "Error");
    let recorded = false;
    await this.ctx.containers.update(id, (r) => {
      if (r.finishedAt !== "0") return; // a concurrent report of the same exit won
      recorded = true;
      // The exit file's mtime comes from the kernel's coarse clock and can trail the start
      // time taken here for a process that exits at once.
      const started = BigInt(r.startedAt);
      r.finishedAt = (e.finishedAt > started ? e.finishedAt : started).toString();
      r.exitCode = e.exitCode;
      r.reason = reason;
    });
    if (!recorded) return;
    if (oom) this.ctx.metrics.oomKills.inc();
    this.ctx.log.info({ container_id: id, exitCode: e.exitCode, reason }, "container exited");
    this.ctx.events.publish(id, rec.sandboxId, "CONTAINER_STOPPED_EVENT");
  }

  /** Removes a container, killing it first if it still runs; unknown ids succeed. */
  async remove(idOrPrefix: string): Promise<void> {
    const found = this.ctx.containers.find(idOrPrefix);
    if (!found) return;
    await this.locks.run(found.id, async () => {
      const rec = this.ctx.containers.get(found.id);
      if (!rec) return;
      await this.stopLocked(rec.id, 0);
      const { paths, runner } = this.ctx;
      await this.ctx.ociRuntime(rec.runtimeHandler).delete(rec.id, true);
      await unmount(paths.containerRootfs(rec.id), runner);
      await unmountIfMounted(paths.containerRootfs(rec.id), runner);
      await fs.rm(paths.container(rec.id), { recursive: true, force: true });
      await fs.rm(paths.containerLayer(rec.id), { recursive: true, force: true });
      await fs.rm(path.join(paths.exitDir, rec.id), { force: true });
      await fs.rm(paths.socketLink(rec.id), { force: true });
      await this.ctx.containers.delete(rec.id);
      this.ctx.containerNames.release(rec.name);
      this.ctx.events.publish(rec.id, rec.sandboxId, "CONTAINER_DELETED_EVENT");
    });
  }

  async execSync(
    idOrPrefix: string,
    cmd: string[],
    timeoutSeconds: number,
    signal?: AbortSignal,
  ): Promise<ExecSyncResult> {
    if (cmd.length === 0) throw new InvalidArgumentError("cmd", "must not be empty");
    const rec = this.requireRunning(idOrPrefix);
    // 0 = no timeout; a day stands in for "none" so no exec can pin a call forever.
    const timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : 24 * 3600 * 1000;
    const res = await this.ctx
      .ociRuntime(rec.runtimeHandler)
      .execSync(rec.id, { args: cmd }, timeoutMs, undefined, signal);
    if (res.cancelled) {
      // The client is gone (its deadline passed or it cancelled); nobody reads this answer.
      throw new DeadlineExceededError(`command ${JSON.stringify(cmd)} cancelled by the client`);
    }
    if (res.timedOut) {
      throw new DeadlineExceededError(
        `command ${JSON.stringify(cmd)} timed out after ${timeoutSeconds}s`,
      );
    }
    return res;
  }

  async updateResources(
    idOrPrefix: string,
    resources: LinuxContainerResources__Output | null,
  ): Promise<void> {
    if (!resources) return;
    const rec = this.ctx.containers.resolve(idOrPrefix);
    await this.locks.run(rec.id, async () => {
      const state = containerState(this.ctx.containers.get(rec.id)!);
      if (state === "CONTAINER_EXITED") {
        throw new FailedPreconditionError(
          `container ${rec.id} has exited; its resources cannot change`,
        );
      }
      const oci = resourcesToOci(resources, "linux");
      await this.ctx.ociRuntime(rec.runtimeHandler).update(rec.id, oci);
      await this.ctx.containers.update(rec.id, (r) => {
        r.resources = resources;
      });
    });
  }

  async reopenLog(idOrPrefix: string): Promise<void> {
    const rec = this.requireRunning(idOrPrefix);
    if (rec.logPath === "")
      throw new FailedPreconditionError(`container ${rec.id} has no log path`);
    await reopenLog({ bundle: this.ctx.paths.containerBundle(rec.id), logPath: rec.logPath });
  }

  private requireRunning(idOrPrefix: string): ContainerRecord {
    const rec = this.ctx.containers.resolve(idOrPrefix);
    const state = containerState(rec);
    if (state !== "CONTAINER_RUNNING") {
      throw new FailedPreconditionError(`container ${rec.id} is ${state}, not CONTAINER_RUNNING`);
    }
    return rec;
  }

  /** Pid of a running container of the given id, for TARGET pid namespaces. */
  runningPid(idOrPrefix: string): number | undefined {
    const rec = this.ctx.containers.find(idOrPrefix);
    if (!rec || containerState(rec) !== "CONTAINER_RUNNING") return undefined;
    return rec.pid;
  }

  idsInSandbox(sandboxId: string): string[] {
    const out: string[] = [];
    for (const c of this.ctx.containers.peek()) if (c.sandboxId === sandboxId) out.push(c.id);
    return out;
  }
}
