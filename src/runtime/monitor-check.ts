// Noticing a dead monitor. conmon records a container's exit; if conmon itself is killed, no
// exit file ever comes and the record would read RUNNING forever. conmon daemonizes, so it is
// not berth's child and no exit event reaches berth: a low-frequency check of each live
// object's recorded conmon pid *with its start time* (so a reused pid is not taken for it) is
// what tells. Per tick it reads one small /proc file per live container; the runtime is asked
// only about objects whose conmon is gone.
import { errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import type { RuntimeState } from "./oci/runtime-state.js";
import {
  type ContainerRecord,
  type SandboxRecord,
  containerState,
  infraExited,
  infraRunning,
} from "./records.js";

export interface MonitorCheckDeps {
  containers: {
    peek(): Iterable<Readonly<ContainerRecord>>;
    get(id: string): ContainerRecord | undefined;
  };
  sandboxes: {
    peek(): Iterable<Readonly<SandboxRecord>>;
    get(id: string): SandboxRecord | undefined;
  };
  /** Whether `pid` is still the process that started at `startTime`. */
  sameProcessAlive(pid: number, startTime: string | undefined): Promise<boolean>;
  runtimeState(handler: string, id: string): Promise<RuntimeState | undefined>;
  /** Reads the exit dir now: conmon may have written the exit just before it died. */
  rescanExits(): Promise<void>;
  /** The container's process is gone and no exit file was written. */
  containerGone(id: string): Promise<void>;
  /** The pod's infra is gone and no exit file was written. */
  infraGone(id: string): Promise<void>;
  log: Logger;
}

export class MonitorCheck {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Objects whose conmon is gone while their process lives on (logged once). */
  private readonly orphaned = new Set<string>();

  constructor(private readonly deps: MonitorCheckDeps) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass; overlapping calls share the pass in flight. */
  tick(): Promise<void> {
    this.running ??= this.checkAll()
      .catch((err: unknown) => this.deps.log.error({ err: errorMessage(err) }, "monitor check"))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkAll(): Promise<void> {
    const lost: { kind: "container" | "sandbox"; id: string }[] = [];
    for (const c of [...this.deps.containers.peek()]) {
      if (containerState(c) === "CONTAINER_EXITED" || !c.conmonPid) continue;
      if (!(await this.deps.sameProcessAlive(c.conmonPid, c.conmonStartTime))) {
        lost.push({ kind: "container", id: c.id });
      }
    }
    for (const s of [...this.deps.sandboxes.peek()]) {
      if (!infraRunning(s) || !s.conmonPid) continue;
      if (!(await this.deps.sameProcessAlive(s.conmonPid, s.conmonStartTime))) {
        lost.push({ kind: "sandbox", id: s.id });
      }
    }
    const lostIds = new Set(lost.map((l) => l.id));
    for (const id of this.orphaned) if (!lostIds.has(id)) this.orphaned.delete(id);
    if (lost.length === 0) return;
    await this.deps.rescanExits();
    for (const { kind, id } of lost) {
      try {
        if (kind === "container") await this.settleContainer(id);
        else await this.settleSandbox(id);
      } catch (err) {
        this.deps.log.error({ id, err: errorMessage(err) }, "cannot settle an unmonitored object");
      }
    }
  }

  /** Whether the object's own process still runs: its pid and start time, then the runtime. */
  private async stillRuns(
    handler: string,
    id: string,
    pid: number,
    startTime: string | undefined,
  ): Promise<boolean> {
    if (startTime !== undefined && startTime !== "" && pid > 0) {
      if (await this.deps.sameProcessAlive(pid, startTime)) return true;
    }
    const st = await this.deps.runtimeState(handler, id);
    return st !== undefined && st.status !== "stopped";
  }

  private async settleContainer(id: string): Promise<void> {
    const c = this.deps.containers.get(id);
    if (!c || containerState(c) === "CONTAINER_EXITED") return; // the exit file came
    if (await this.stillRuns(c.runtimeHandler, id, c.pid, c.pidStartTime)) {
      if (!this.orphaned.has(id)) {
        this.orphaned.add(id);
        this.deps.log.warn({ container_id: id }, "conmon died; the container runs unmonitored");
      }
      return;
    }
    this.orphaned.delete(id);
    this.deps.log.warn({ container_id: id }, "conmon died and the container has stopped");
    await this.deps.containerGone(id);
  }

  private async settleSandbox(id: string): Promise<void> {
    const s = this.deps.sandboxes.get(id);
    if (!s || infraExited(s)) return;
    if (await this.stillRuns(s.runtimeHandler, id, s.infraPid, s.infraStartTime)) {
      if (!this.orphaned.has(id)) {
        this.orphaned.add(id);
        this.deps.log.warn({ pod_sandbox_id: id }, "conmon of the pod infra died; infra runs on");
      }
      return;
    }
    this.orphaned.delete(id);
    await this.deps.infraGone(id);
  }
}
