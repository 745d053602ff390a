// SandboxService's ownership of the sandbox state and recovery's reconcile of containers, with
// fakes for the runtime (no root): a CREATED record whose process runs after a crash in
// StartContainer becomes RUNNING; one the runtime no longer has becomes EXITED.
import { expect } from "chai";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { silentLogger } from "../../../src/log.js";
import { EventBus, type RuntimeEvent } from "../../../src/runtime/events.js";
import type { RuntimeState } from "../../../src/runtime/oci/runtime-state.js";
import {
  type ContainerRecord,
  type SandboxRecord,
  containerState,
  sandboxState,
} from "../../../src/runtime/records.js";
import { containerCodec, sandboxCodec } from "../../../src/runtime/record-codecs.js";
import { reconcileContainers, reconcileSandboxes } from "../../../src/runtime/recovery.js";
import type { RecoveryDeps, SandboxDeps } from "../../../src/runtime/runtime-context.js";
import { SandboxService } from "../../../src/runtime/sandbox/sandbox-service.js";
import { RecordStore } from "../../../src/store/record-store.js";

describe("state: sandbox service and recovery with fakes", () => {
  let dir: string;
  let ctx: SandboxDeps & RecoveryDeps;
  let states: Record<string, RuntimeState | undefined>;
  const events: RuntimeEvent[] = [];
  let ac: AbortController;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-state-fakes-"));
    states = {};
    events.length = 0;
    const bus = new EventBus();
    ac = new AbortController();
    const signal = ac.signal;
    void (async () => {
      for await (const e of bus.subscribe(signal)) events.push(e);
    })();
    for (const d of ["s", "c"]) await mkdir(path.join(dir, d));
    // Only what these code paths touch; the rest of the context is never reached.
    ctx = {
      log: silentLogger(),
      sandboxes: new RecordStore<SandboxRecord>(path.join(dir, "s"), "pod sandbox", sandboxCodec),
      containers: new RecordStore<ContainerRecord>(
        path.join(dir, "c"),
        "container",
        containerCodec,
      ),
      events: bus,
      ociRuntime: () => ({ state: (id: string) => Promise.resolve(states[id]) }),
    } as unknown as SandboxDeps & RecoveryDeps;
  });
  afterEach(async () => {
    ac.abort();
    await rm(dir, { recursive: true, force: true });
  });

  const sandbox = (id: string): SandboxRecord =>
    ({
      version: 1,
      id,
      runtimeHandler: "runc",
      createdAt: 1n,
      stoppedAt: 0n,
      infraPid: process.pid, // alive: a pid check would call this pod ready
      infraExitedAt: 0n,
    }) as SandboxRecord;

  const container = (id: string, over: Partial<ContainerRecord> = {}): ContainerRecord =>
    ({
      version: 1,
      id,
      sandboxId: "s1",
      runtimeHandler: "runc",
      createdAt: 1n,
      startedAt: 0n,
      finishedAt: 0n,
      startError: "",
      exitCode: 0,
      reason: "",
      message: "",
      pid: process.pid,
      ...over,
    }) as ContainerRecord;

  const tick = () => new Promise((r) => setTimeout(r, 10));

  it("an infra exit makes the pod NOTREADY once, with one event, though its pid lives on", async () => {
    await ctx.sandboxes.put(sandbox("s1"));
    const svc = new SandboxService(ctx);
    expect(svc.isReady(ctx.sandboxes.get("s1")!)).to.equal(true);
    await svc.onInfraExit({ id: "s1", exitCode: 137, finishedAt: 5n });
    await svc.onInfraExit({ id: "s1", exitCode: 137, finishedAt: 6n });
    await tick();
    const rec = ctx.sandboxes.get("s1")!;
    expect([sandboxState(rec), rec.infraExitedAt]).to.deep.equal(["SANDBOX_NOTREADY", 5n]);
    expect(events.map((e) => [e.id, e.type])).to.deep.equal([["s1", "CONTAINER_STOPPED_EVENT"]]);
  });

  it("recovery: an infra the runtime no longer runs is reported to the owner", async () => {
    await ctx.sandboxes.put(sandbox("s1"));
    await ctx.sandboxes.put(sandbox("s2"));
    states["s2"] = { id: "s2", status: "running", pid: process.pid } as RuntimeState;
    const gone: string[] = [];
    await reconcileSandboxes(ctx, (id) => {
      gone.push(id);
      return Promise.resolve();
    });
    expect(gone).to.deep.equal(["s1"]);
  });

  it("recovery: CREATED but running → RUNNING with the process's start time; absent → EXITED", async () => {
    await ctx.containers.put(container("started"));
    await ctx.containers.put(container("never", { pid: 1 }));
    await ctx.containers.put(container("vanished"));
    states["started"] = { id: "started", status: "running", pid: process.pid } as RuntimeState;
    states["never"] = { id: "never", status: "created", pid: 1 } as RuntimeState;
    await reconcileContainers(ctx);
    const started = ctx.containers.get("started")!;
    expect(containerState(started)).to.equal("CONTAINER_RUNNING");
    // This process's own start time, from /proc: before now, after the epoch's first minute.
    const startedAt = started.startedAt;
    expect(startedAt < BigInt(Date.now()) * 1_000_000n).to.equal(true);
    expect(startedAt > 60_000_000_000n).to.equal(true);
    expect(containerState(ctx.containers.get("never")!)).to.equal("CONTAINER_CREATED");
    const vanished = ctx.containers.get("vanished")!;
    expect([containerState(vanished), vanished.exitCode]).to.deep.equal(["CONTAINER_EXITED", 255]);
  });
});
