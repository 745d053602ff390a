// ContainerService and CreateContainer over fakes (service-fakes.ts): the CRI state machine
// created → running → exited, the moves it refuses (FAILED_PRECONDITION), and what stop and
// remove do to the runtime, the record, the name and the files.
import { expect } from "chai";
import { access } from "node:fs/promises";
import * as path from "node:path";
import { FailedPreconditionError } from "../../../src/errors.js";
import { createContainerInSandbox } from "../../../src/runtime/container/container-create.js";
import {
  type ContainerRecord,
  canStart,
  containerState,
  hasExited,
  isRunning,
} from "../../../src/runtime/records.js";
import { containerConfig, sandboxConfig } from "../runtime-spec/fixtures.js";
import { type Harness, fakePodContainers, harness } from "./service-fakes.js";

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a refusal");
}

describe("services: ContainerService with fakes", () => {
  let h: Harness;
  let sandboxId: string;
  beforeEach(async () => {
    h = await harness();
    sandboxId = await h.sandboxes.run(
      sandboxConfig({
        log_directory: path.join(h.dir, "logs"),
        linux: {
          cgroup_parent: "",
          security_context: sandboxConfig().linux!.security_context,
          sysctls: {},
          overhead: null,
          resources: null,
        },
      }),
      "",
    );
  });
  afterEach(async () => {
    await h.close();
  });

  const create = async (name = "app"): Promise<ContainerRecord> =>
    createContainerInSandbox(
      h.deps,
      h.deps.sandboxes.get(sandboxId)!,
      containerConfig({ metadata: { name, attempt: 0 }, command: ["/bin/sleep", "inf"] }),
      (parent, id) => h.sandboxes.cgroupsPath(parent, id),
      (target) => h.containers.runningPid(target),
    );
  const rec = (id: string) => h.deps.containers.get(id)!;
  const kills = () => h.runtime.calls.filter((c) => c.startsWith("kill"));

  it("create → CREATED; start → RUNNING; stop → EXITED with the signal's status", async () => {
    const c = await create();
    expect([containerState(c), canStart(c), c.createdAt > 0n]).to.deep.equal([
      "CONTAINER_CREATED",
      true,
      true,
    ]);
    expect(h.images.released).to.equal(1);
    expect(await exists(path.join(h.deps.paths.containerBundle(c.id), "config.json"))).to.equal(
      true,
    );

    await h.containers.start(c.id);
    const running = rec(c.id);
    expect([isRunning(running), running.startedAt >= c.createdAt]).to.deep.equal([true, true]);
    expect(h.containers.runningPid(c.id)).to.equal(process.pid);

    await h.containers.stop(c.id, 5);
    const exited = rec(c.id);
    expect([containerState(exited), exited.exitCode, exited.reason]).to.deep.equal([
      "CONTAINER_EXITED",
      143,
      "Error",
    ]);
    expect(exited.finishedAt >= exited.startedAt).to.equal(true);
    expect(kills()).to.deep.equal([`kill ${c.id} SIGTERM`]);
    await h.settle();
    const types = h.events.filter((e) => e.id === c.id).map((e) => e.type);
    expect(types).to.deep.equal([
      "CONTAINER_CREATED_EVENT",
      "CONTAINER_STARTED_EVENT",
      "CONTAINER_STOPPED_EVENT",
    ]);
  });

  it("refuses a second start, and the start of an exited container (FAILED_PRECONDITION)", async () => {
    const c = await create();
    await h.containers.start(c.id);
    const twice = await refusal(h.containers.start(c.id));
    expect(twice).to.be.instanceOf(FailedPreconditionError);
    expect(String(twice)).to.contain("CONTAINER_RUNNING");
    await h.containers.stop(c.id, 5);
    const exited = await refusal(h.containers.start(c.id));
    expect(exited).to.be.instanceOf(FailedPreconditionError);
    expect(String(exited)).to.contain("CONTAINER_EXITED");
    expect(h.runtime.calls.filter((x) => x.startsWith("start"))).to.deep.equal([
      `start ${sandboxId}`,
      `start ${c.id}`,
    ]);
  });

  it("refuses to start a container of a stopped pod", async () => {
    const c = await create();
    await h.sandboxes.stop(sandboxId, fakePodContainers());
    const err = await refusal(h.containers.start(c.id));
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect(containerState(rec(c.id))).to.equal("CONTAINER_CREATED");
  });

  it("a failed start leaves the container EXITED with the runtime's message", async () => {
    const c = await create();
    h.runtime.containers.delete(c.id); // the runtime lost it: `start` fails
    const err = await refusal(h.containers.start(c.id));
    expect(err).to.be.instanceOf(FailedPreconditionError);
    const r = rec(c.id);
    expect([containerState(r), hasExited(r), r.exitCode, r.reason]).to.deep.equal([
      "CONTAINER_EXITED",
      true,
      128,
      "StartError",
    ]);
    expect(r.startError).to.contain(`cannot start ${c.id}`);
  });

  it("a container that ignores its stop signal is killed after the timeout", async () => {
    const c = await create();
    await h.containers.start(c.id);
    h.runtime.ignore.add("SIGTERM");
    await h.containers.stop(c.id, 1);
    expect(kills()).to.deep.equal([`kill ${c.id} SIGTERM`, `kill ${c.id} SIGKILL --all`]);
    expect(rec(c.id).exitCode).to.equal(137);
    // Stop of an exited container, or of an unknown one, succeeds and does nothing.
    await h.containers.stop(c.id, 1);
    await h.containers.stop("feedbeef", 1);
    expect(kills().length).to.equal(2);
  });

  it("stop of a CREATED container kills the runtime's waiting init: EXITED, never started", async () => {
    const c = await create();
    await h.containers.stop(c.id, 10);
    const r = rec(c.id);
    expect([containerState(r), r.startedAt, r.exitCode]).to.deep.equal([
      "CONTAINER_EXITED",
      0n,
      137,
    ]);
  });

  it("remove of an exited container: runtime, files, record and name are gone", async () => {
    const c = await create();
    await h.containers.start(c.id);
    await h.containers.stop(c.id, 5);
    await h.containers.remove(c.id);
    expect(h.deps.containers.get(c.id)).to.equal(undefined);
    expect(await h.runtime.state(c.id)).to.equal(undefined);
    expect(await exists(h.deps.paths.container(c.id))).to.equal(false);
    expect(await exists(h.deps.paths.containerLayer(c.id))).to.equal(false);
    const again = await create(); // the name was released
    expect(again.name).to.equal(c.name);
    await h.containers.remove("feedbeef");
  });

  it("remove of a running container is not refused: it is killed first (CRI: forcibly removed)", async () => {
    const c = await create();
    await h.containers.start(c.id);
    await h.containers.remove(c.id);
    expect(kills()).to.deep.equal([`kill ${c.id} SIGKILL --all`]);
    expect(h.deps.containers.get(c.id)).to.equal(undefined);
    expect(await h.runtime.state(c.id)).to.equal(undefined);
  });
  it("a stop that reads RUNNING while an exit is being recorded gets that exit at once", async () => {
    const c = await create();
    await h.containers.start(c.id);
    // The process exits and the watcher notifies the waiters, but the record is not written
    // yet (recording takes a few awaits): a StopContainer arriving now still sees RUNNING.
    h.runtime.containers.get(c.id)!.status = "stopped";
    h.deps.exits.notify({ id: c.id, exitCode: 4, finishedAt: BigInt(Date.now()) * 1_000_000n });
    expect(isRunning(rec(c.id))).to.equal(true);
    const t0 = Date.now();
    await h.containers.stop(c.id, 1);
    // Not the 1 s stop timeout and then a SIGKILL of a process that is gone.
    expect(Date.now() - t0).to.be.below(500);
    expect([containerState(rec(c.id)), rec(c.id).exitCode]).to.deep.equal(["CONTAINER_EXITED", 4]);
  });

  it("release of an exited container: runtime state gone, record kept; remove then skips it", async () => {
    const c = await create();
    await h.containers.start(c.id);
    await h.containers.release(c.id); // running: nothing to release
    expect(rec(c.id).released).to.equal(undefined);
    expect(await h.runtime.state(c.id)).to.not.equal(undefined);
    await h.containers.stop(c.id, 5);
    await h.containers.release(c.id);
    expect(await h.runtime.state(c.id)).to.equal(undefined);
    expect([containerState(rec(c.id)), rec(c.id).released]).to.deep.equal([
      "CONTAINER_EXITED",
      true,
    ]);
    const deletes = () => h.runtime.calls.filter((x) => x.startsWith("delete"));
    expect(deletes()).to.deep.equal([`delete ${c.id} --force`]);
    await h.containers.release(c.id); // once only
    await h.containers.remove(c.id);
    expect(deletes().length).to.equal(1);
    expect(h.deps.containers.get(c.id)).to.equal(undefined);
    expect(await exists(h.deps.paths.container(c.id))).to.equal(false);
  });
});
