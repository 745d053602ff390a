// The dead-monitor check with fakes: which objects it settles and when it asks the runtime.
import { expect } from "chai";
import { pino } from "pino";
import { MonitorCheck, type MonitorCheckDeps } from "../../../src/runtime/monitor-check.js";
import type { RuntimeState } from "../../../src/runtime/oci/runtime-state.js";
import type { ContainerRecord, SandboxRecord } from "../../../src/runtime/records.js";

function ctr(over: Partial<ContainerRecord>): ContainerRecord {
  return {
    id: "c1",
    runtimeHandler: "runc",
    startedAt: 10n,
    finishedAt: 0n,
    startError: "",
    pid: 100,
    pidStartTime: "1000",
    conmonPid: 99,
    conmonStartTime: "999",
    ...over,
  } as ContainerRecord;
}

function setup(opts: {
  containers: ContainerRecord[];
  sandboxes?: SandboxRecord[];
  alive: Record<number, string>;
  runtime: Record<string, RuntimeState["status"] | undefined>;
}) {
  const gone: string[] = [];
  const infraGone: string[] = [];
  const asked: string[] = [];
  let rescans = 0;
  const deps: MonitorCheckDeps = {
    containers: {
      peek: () => opts.containers,
      get: (id) => opts.containers.find((c) => c.id === id),
    },
    sandboxes: {
      peek: () => opts.sandboxes ?? [],
      get: (id) => opts.sandboxes?.find((s) => s.id === id),
    },
    sameProcessAlive: (pid, start) =>
      Promise.resolve(
        opts.alive[pid] !== undefined && (start === undefined || opts.alive[pid] === start),
      ),
    runtimeState: (_h, id) => {
      asked.push(id);
      const status = opts.runtime[id];
      return Promise.resolve(
        status === undefined
          ? undefined
          : { id, status, pid: 0, bundle: "", created: "", annotations: {} },
      );
    },
    rescanExits: () => {
      rescans++;
      return Promise.resolve();
    },
    containerGone: (id) => {
      gone.push(id);
      return Promise.resolve();
    },
    infraGone: (id) => {
      infraGone.push(id);
      return Promise.resolve();
    },
    log: pino({ level: "silent" }),
  };
  return { check: new MonitorCheck(deps), gone, infraGone, asked, rescans: () => rescans };
}

describe("state: the dead-monitor check", () => {
  it("asks nothing while every conmon is the recorded one", async () => {
    const t = setup({ containers: [ctr({})], alive: { 99: "999", 100: "1000" }, runtime: {} });
    await t.check.tick();
    expect([t.gone, t.asked, t.rescans()]).to.deep.equal([[], [], 0]);
  });

  it("settles a container whose conmon died and whose process is gone", async () => {
    const t = setup({
      containers: [ctr({}), ctr({ id: "c2", finishedAt: 5n, conmonPid: 98 })],
      alive: {},
      runtime: { c1: "stopped" },
    });
    await t.check.tick();
    expect(t.gone).to.deep.equal(["c1"]); // c2 had exited already
    expect(t.rescans()).to.equal(1); // the exit file conmon may have left is read first
  });

  it("a reused conmon pid (other start time) is a dead conmon; a live process keeps RUNNING", async () => {
    const t = setup({
      containers: [ctr({})],
      alive: { 99: "5", 100: "1000" },
      runtime: { c1: "running" },
    });
    await t.check.tick();
    expect(t.gone).to.deep.equal([]);
    expect(t.asked).to.deep.equal([]); // the process itself, by pid and start time, says it runs
  });

  it("settles a pod whose infra's conmon and infra are gone", async () => {
    const s = {
      id: "s1",
      runtimeHandler: "runc",
      infraPid: 50,
      infraStartTime: "7",
      infraExitedAt: 0n,
      conmonPid: 49,
      conmonStartTime: "6",
    } as SandboxRecord;
    const t = setup({ containers: [], sandboxes: [s], alive: {}, runtime: {} });
    await t.check.tick();
    expect(t.infraGone).to.deep.equal(["s1"]);
  });
});
