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
import { KeyedMutex } from "../../store/keyed-mutex.js";
import { nowNs } from "../../util/time.js";
import { settleAll } from "../../util/settle-all.js";
import { reopenLog } from "../oci/conmon.js";
import { wasOomKilled } from "../oci/exit-file.js";
import type { ExitEvent } from "../oci/exit-watcher.js";
import type { ExecSyncResult } from "../oci/oci-runtime.js";
import {
  type ContainerRecord,
  canStart,
  containerState,
  hasExited,
  isRunning,
  sandboxReady,
  wasStarted,
} from "../records.js";
import type { ContainerDeps } from "../runtime-context.js";
import { resourcesToOci } from "../spec/resources.js";
import {
  type ContainerCgroupDirs,
  cgroupPids,
  killCgroupProcesses,
  readCgroupResources,
} from "../../cgroup/container-cgroup.js";
import { releaseExited } from "./container-release.js";
import { mergeResources } from "./resources-merge.js";
import * as os from "node:os";

/** Grace after SIGKILL for conmon to record the exit. */
const KILL_WAIT_MS = 10_000;

export class ContainerService {
  private readonly locks = new KeyedMutex();

  /** The last signal StopContainer sent, for an exit no monitor recorded. */
  private readonly signalled = new Map<string, number>();

  constructor(
    private readonly ctx: ContainerDeps,
    /** The cgroup dirs of a cgroupsPath (undefined when unknown). */
    private readonly cgroups: (cgroupsPath: string) => ContainerCgroupDirs | undefined,
  ) {}

  async start(idOrPrefix: string): Promise<void> {
    const steps = this.ctx.metrics.steps.begin("StartContainer");
    const rec = this.ctx.containers.resolve(idOrPrefix);
    await this.locks.run(rec.id, async () => {
      const cur = this.ctx.containers.get(rec.id)!;
      if (!canStart(cur)) {
        const state = containerState(cur);
        throw new FailedPreconditionError(`container ${cur.id} is ${state}, not CONTAINER_CREATED`);
      }
      const sandbox = this.ctx.sandboxes.get(cur.sandboxId);
      if (!sandbox || !sandboxReady(sandbox)) {
        throw new FailedPreconditionError(
          `pod sandbox ${cur.sandboxId} of container ${cur.id} is not ready`,
        );
      }
      const runtime = this.ctx.ociRuntime(cur.runtimeHandler);
      // Taken before the start: a process that exits at once must not finish before it started.
      const startedAt = nowNs();
      steps.mark("checks");
      try {
        await runtime.start(cur.id);
        steps.mark("runtime-start");
      } catch (err) {
        // A start that failed only in what it answered (a timeout, a second start after a
        // crash) may still have run the process: the runtime's state is the truth.
        const st = await runtime.state(cur.id).catch(() => undefined);
        if (st?.status === "running" || st?.status === "paused") {
          this.ctx.log.warn(
            { container_id: cur.id, err: errorMessage(err) },
            "runtime start failed, but the container runs",
          );
          await this.ctx.containers.update(cur.id, (r) => {
            if (!wasStarted(r)) r.startedAt = startedAt;
          });
          this.ctx.events.publish(cur.id, cur.sandboxId, "CONTAINER_STARTED_EVENT");
          return;
        }
        const now = nowNs();
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
      await this.ctx.testPause("start-container");
      // The start time is an overwrite of an existing record, and losing it to a crash loses
      // nothing: recovery asks the runtime about every CREATED record and records a running
      // one as started, with its process's start time (reconcileContainers). So the rename is
      // not made durable here (the file itself still is, so no torn record), which saves the
      // directory fsync on every start; the next durable write of the directory carries it.
      await this.ctx.containers.update(
        cur.id,
        (r) => {
          if (!wasStarted(r)) r.startedAt = startedAt;
        },
        { syncDir: false },
      );
      this.ctx.events.publish(cur.id, cur.sandboxId, "CONTAINER_STARTED_EVENT");
      steps.end("record");
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
        this.signalled.set(rec.id, signalNumber(signal));
      } catch (err) {
        log.debug({ err: errorMessage(err) }, "stop signal");
      }
      await this.ctx.testPause("stop-container");
      const exited = await waiting;
      if (exited) return this.onExit(exited);
      log.info({ timeoutSeconds }, "container ignored its stop signal; killing it");
    }
    const killed = this.ctx.exits.wait(rec.id, KILL_WAIT_MS);
    await this.killAll(rec, runtime)
      .then(() => this.signalled.set(rec.id, 9))
      .catch((err: unknown) => {
        log.debug({ err: errorMessage(err) }, "kill");
      });
    if (timeoutSeconds <= 0) await this.ctx.testPause("stop-container");
    const exited = await killed;
    if (exited) return this.onExit(exited);
    // No exit file: its monitor is gone. The runtime says whether the process still runs.
    const st = await runtime.state(rec.id);
    if (st && st.status !== "stopped") {
      throw new DeadlineExceededError(`container ${rec.id} did not exit after SIGKILL`);
    }
    await this.onMonitorLost(rec.id);
  }

  /**
   * SIGKILLs every process of a running container. With its cgroup known, berth signals the
   * pids in cgroup.procs itself, as `runc kill --all` does, without spawning the runtime (~35 ms
   * a call here): SIGKILL cannot be caught or ignored, and whatever forks meanwhile is in the
   * cgroup too and is killed by markExited's killLeftovers before EXITED is recorded. Without
   * a cgroup, or with an empty one, the runtime is asked (it knows "not running").
   */
  private async killAll(
    rec: ContainerRecord,
    runtime: { kill(id: string, signal: NodeJS.Signals, all: boolean): Promise<void> },
  ): Promise<void> {
    const procsDir = this.cgroups(rec.cgroupPath)?.procsDir;
    const pids = procsDir !== undefined ? await cgroupPids(procsDir).catch(() => []) : [];
    if (pids.length === 0) return runtime.kill(rec.id, "SIGKILL", true);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
  }

  /**
   * Records the exit of a container whose conmon died, once the runtime says its process is
   * gone too: no exit status exists, so the signal StopContainer sent stands in for it (137
   * after SIGKILL), else 255 as containerd reports an unknown exit.
   */
  async onMonitorLost(id: string): Promise<void> {
    const sig = this.signalled.get(id);
    const exit = { id, exitCode: sig !== undefined ? 128 + sig : 255, finishedAt: nowNs() };
    await this.markExited(id, {
      exitCode: exit.exitCode,
      finishedAt: exit.finishedAt,
      reasonOverride: sig !== undefined ? "Error" : "Unknown",
      message:
        "the container's monitor (conmon) died; its exit status was not recorded" +
        (sig !== undefined ? ` (taken from the signal berth sent, ${sig})` : ""),
    });
    // A StopContainer waiting for this exit learns of it now, not at its timeout.
    this.ctx.exits.notify(exit);
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

  /**
   * Kills what the main process left in the container's cgroup (children in a shared pid
   * namespace outlive it), as runc's `kill --all` and containerd do, so EXITED means nothing
   * of the container runs any more.
   */
  private async killLeftovers(rec: ContainerRecord, procsDir: string | undefined): Promise<void> {
    if (procsDir === undefined) return;
    const left = await killCgroupProcesses(procsDir, 3000);
    if (left > 0) {
      this.ctx.log.warn({ container_id: rec.id, left }, "processes survive in the cgroup");
    }
  }

  private async markExited(
    id: string,
    e: {
      exitCode: number;
      finishedAt: bigint;
      reasonOverride: string | undefined;
      message?: string;
    },
  ): Promise<void> {
    const rec = this.ctx.containers.get(id);
    if (!rec || hasExited(rec)) return;
    const dirs = this.cgroups(rec.cgroupPath);
    await this.killLeftovers(rec, dirs?.procsDir);
    const memDir = dirs?.dir("memory");
    const oom = await wasOomKilled(this.ctx.paths.containerPersist(id), memDir).catch(() => false);
    const reason =
      e.reasonOverride ?? (oom ? "OOMKilled" : e.exitCode === 0 ? "Completed" : "Error");
    let recorded = false;
    await this.ctx.containers.update(id, (r) => {
      if (hasExited(r)) return; // a concurrent report of the same exit won
      recorded = true;
      // The exit file's mtime comes from the kernel's coarse clock and can trail the start
      // time taken here for a process that exits at once.
      r.finishedAt = e.finishedAt > r.startedAt ? e.finishedAt : r.startedAt;
      r.exitCode = e.exitCode;
      r.reason = reason;
      if (e.message !== undefined) r.message = e.message;
    });
    this.signalled.delete(id);
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
      const { paths } = this.ctx;
      // The record goes last, after the runtime's state and the rootfs mount: a crash before it
      // leaves a record that recovery and a repeated remove finish.
      if (rec.released !== true) await releaseExited(this.ctx, rec);
      await this.ctx.testPause("remove-container");
      await settleAll([
        fs.rm(paths.container(rec.id), { recursive: true, force: true }),
        fs.rm(paths.containerLayer(rec.id), { recursive: true, force: true }),
        fs.rm(path.join(paths.exitDir, rec.id), { force: true }),
        fs.rm(paths.socketLink(rec.id), { force: true }),
      ]);
      await this.ctx.containers.delete(rec.id);
      this.ctx.containerNames.release(rec.name);
      this.ctx.events.publish(rec.id, rec.sandboxId, "CONTAINER_DELETED_EVENT");
    });
  }

  /**
   * Releases an exited container's runtime state and rootfs mount ahead of RemoveContainer
   * (container-release.ts); nothing for a container that has not exited or is gone.
   */
  async release(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      const rec = this.ctx.containers.get(id);
      if (!rec || rec.released === true || containerState(rec) !== "CONTAINER_EXITED") return;
      await releaseExited(this.ctx, rec);
      await this.ctx.containers.update(id, (r) => {
        r.released = true;
      });
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
      const cur = this.ctx.containers.get(rec.id)!;
      // Only what the call sets changes (as containerd merges); the result is checked whole.
      const merged = mergeResources(cur.resources, resources);
      const oci = resourcesToOci(merged, "linux");
      const dirs = this.cgroups(cur.cgroupPath);
      let failure: unknown;
      try {
        await this.ctx.ociRuntime(rec.runtimeHandler).update(rec.id, oci);
      } catch (err) {
        failure = err;
      }
      // The record says what the cgroup holds, whether the runtime finished or stopped
      // half-way (runc can fail to set values back after a partial write).
      const held = dirs ? await readCgroupResources(dirs, merged) : merged;
      const recorded = failure === undefined ? held : dirs ? held : cur.resources;
      await this.ctx.containers.update(rec.id, (r) => {
        r.resources = recorded;
      });
      if (failure !== undefined) {
        throw new FailedPreconditionError(
          `cannot update the resources of container ${rec.id}: ${errorMessage(failure)}`,
          { cause: failure },
        );
      }
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
    if (!rec || !isRunning(rec)) return undefined;
    return rec.pid;
  }

  idsInSandbox(sandboxId: string): string[] {
    const out: string[] = [];
    for (const c of this.ctx.containers.peek()) if (c.sandboxId === sandboxId) out.push(c.id);
    return out;
  }
}

function signalNumber(signal: NodeJS.Signals | number): number {
  return typeof signal === "number" ? signal : (os.constants.signals[signal] ?? 15);
}
