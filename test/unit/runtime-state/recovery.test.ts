// Startup recovery over fakes (service-fakes.ts): pods and containers are made through the
// services, then "berthd goes down", the fake runtime's view changes, and recovery loads the
// records into fresh stores and reconciles each with what the runtime says: running, stopped,
// paused, or gone.
import { expect } from "chai";
import * as path from "node:path";
import { createContainerInSandbox } from "../../../src/runtime/container/container-create.js";
import { containerCodec, sandboxCodec } from "../../../src/runtime/record-codecs.js";
import {
  type ContainerRecord,
  type SandboxRecord,
  containerState,
  sandboxState,
} from "../../../src/runtime/records.js";
import {
  loadRecords,
  reconcileContainers,
  reconcileSandboxes,
  releaseOrphanNetworks,
} from "../../../src/runtime/recovery.js";
import { SandboxService } from "../../../src/runtime/sandbox/sandbox-service.js";
import { NameRegistry } from "../../../src/store/name-registry.js";
import { RecordStore } from "../../../src/store/record-store.js";
import { containerConfig, sandboxConfig } from "../runtime-spec/fixtures.js";
import { type FakeDeps, type Harness, harness } from "./service-fakes.js";

describe("services: recovery with fakes", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  const pod = (name: string) =>
    h.sandboxes.run(
      sandboxConfig({
        metadata: { name, uid: `uid-${name}`, namespace: "default", attempt: 0 },
        log_directory: path.join(h.dir, "logs", name),
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
  const container = async (sandboxId: string, name: string, start: boolean) => {
    const c = await createContainerInSandbox(
      h.deps,
      h.deps.sandboxes.get(sandboxId)!,
      containerConfig({ metadata: { name, attempt: 0 }, command: ["/bin/true"] }),
      (parent, id) => h.sandboxes.cgroupsPath(parent, id),
      () => undefined,
    );
    if (start) await h.containers.start(c.id);
    return c.id;
  };

  /** berthd restarted: fresh stores and name registries read what is on disk. */
  async function restart(): Promise<FakeDeps> {
    const { paths } = h.deps;
    const deps: FakeDeps = {
      ...h.deps,
      sandboxes: new RecordStore<SandboxRecord>(paths.sandboxRecords, "pod sandbox", sandboxCodec),
      containers: new RecordStore<ContainerRecord>(
        paths.containerRecords,
        "container",
        containerCodec,
      ),
      sandboxNames: new NameRegistry("pod sandbox"),
      containerNames: new NameRegistry("container"),
    };
    await loadRecords(deps);
    return deps;
  }

  const setStatus = (id: string, status: "running" | "stopped" | "paused", pid = process.pid) => {
    const st = h.runtime.containers.get(id)!;
    st.status = status;
    st.pid = status === "stopped" ? 0 : pid;
  };

  it("containers: running stays, stopped or missing → EXITED (255, Unknown), paused stays", async () => {
    const sb = await pod("web");
    const ids = {
      runs: await container(sb, "runs", true),
      stopped: await container(sb, "stopped", true),
      missing: await container(sb, "missing", true),
      paused: await container(sb, "paused", true),
      created: await container(sb, "created", false),
    };
    setStatus(ids.stopped, "stopped");
    h.runtime.containers.delete(ids.missing);
    setStatus(ids.paused, "paused");

    const deps = await restart();
    expect(deps.containers.size).to.equal(5);
    const before = deps.containers.get(ids.runs)!;
    await reconcileContainers(deps);
    const state = (id: string) => containerState(deps.containers.get(id)!);
    expect(Object.values(ids).map(state)).to.deep.equal([
      "CONTAINER_RUNNING",
      "CONTAINER_EXITED",
      "CONTAINER_EXITED",
      "CONTAINER_RUNNING",
      "CONTAINER_CREATED",
    ]);
    for (const id of [ids.stopped, ids.missing]) {
      const r = deps.containers.get(id)!;
      expect([r.exitCode, r.reason, r.finishedAt > r.startedAt]).to.deep.equal([
        255,
        "Unknown",
        true,
      ]);
    }
    // Nothing was written for the one that runs on.
    expect(deps.containers.get(ids.runs)).to.deep.equal(before);
    // The names came back with the records: the same container name is taken.
    expect(() => deps.containerNames.reserve(before.name, "other")).to.throw();
  });

  it("containers: an exit already recorded is never undone by the runtime's view", async () => {
    const sb = await pod("web");
    const id = await container(sb, "app", true);
    await h.containers.stop(id, 5);
    const exited = h.deps.containers.get(id)!;
    h.runtime.created(id, process.pid);
    setStatus(id, "running");
    const deps = await restart();
    await reconcileContainers(deps);
    expect(deps.containers.get(id)).to.deep.equal(exited);
  });

  it("sandboxes: the infra running (same pid) stays READY; stopped, missing or another pid → NOTREADY", async () => {
    const ids = {
      runs: await pod("runs"),
      stopped: await pod("stopped"),
      missing: await pod("missing"),
      otherPid: await pod("other"),
    };
    setStatus(ids.stopped, "stopped");
    h.runtime.containers.delete(ids.missing);
    setStatus(ids.otherPid, "running", process.pid + 1);

    const deps = await restart();
    const owner = new SandboxService(deps);
    const gone: string[] = [];
    await reconcileSandboxes(deps, (id) => {
      gone.push(id);
      return owner.onInfraExit({ id, exitCode: 255, finishedAt: 0n }, "pod infra gone");
    });
    expect(gone.sort()).to.deep.equal([ids.stopped, ids.missing, ids.otherPid].sort());
    const state = (id: string) => sandboxState(deps.sandboxes.get(id)!);
    expect(Object.values(ids).map(state)).to.deep.equal([
      "SANDBOX_READY",
      "SANDBOX_NOTREADY",
      "SANDBOX_NOTREADY",
      "SANDBOX_NOTREADY",
    ]);
    // A second pass has nothing left to report: the exits are recorded.
    gone.length = 0;
    await reconcileSandboxes(deps, (id) => {
      gone.push(id);
      return Promise.resolve();
    });
    expect(gone).to.deep.equal([]);
  });

  it("a network attached for a pod with no record is released", async () => {
    const kept = await pod("kept");
    h.cni.attached.set("orphan", "10.88.9.9");
    const deps = await restart();
    await releaseOrphanNetworks(deps);
    expect(h.cni.deleted).to.deep.equal(["orphan"]);
    expect([...h.cni.attached.keys()]).to.deep.equal([kept]);
  });
});
