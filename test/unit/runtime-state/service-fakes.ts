// Fakes for the runtime services' narrow dependencies (SandboxDeps, ContainerDeps,
// ContainerCreateDeps, RecoveryDeps): an OCI runtime that keeps its containers in a map and
// reports exits as conmon would, a conmon launcher that "creates" in that runtime, a CNI that
// hands out addresses, a command runner that records calls, and real record stores in a temp
// dir. No root, no runc, no conmon. The cgroup driver is systemd, where berth leaves cgroup
// removal to the runtime, so nothing here touches the host's cgroupfs.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { ContainerImage } from "../../../src/runtime/container/image-lookup.js";
import { silentLogger } from "../../../src/log.js";
import type { PodNetworkRequest, PodNetworkStatus } from "../../../src/network/cni-runner.js";
import { EventBus, type RuntimeEvent } from "../../../src/runtime/events.js";
import { ExitWaiters } from "../../../src/runtime/exit-waiters.js";
import type { HandlerProbe } from "../../../src/runtime/handler-registry.js";
import type {
  ConmonLaunch,
  ConmonLauncher,
  LaunchOutcome,
} from "../../../src/runtime/oci/conmon-launcher.js";
import type { RuntimeState } from "../../../src/runtime/oci/runtime-state.js";
import { RuntimePaths } from "../../../src/runtime/paths.js";
import { containerCodec, sandboxCodec } from "../../../src/runtime/record-codecs.js";
import type { ContainerRecord, SandboxRecord } from "../../../src/runtime/records.js";
import type {
  ContainerCreateDeps,
  ContainerDeps,
  RecoveryDeps,
  RuntimeOps,
  SandboxDeps,
} from "../../../src/runtime/runtime-context.js";
import { ContainerService } from "../../../src/runtime/container/container-service.js";
import { SandboxService } from "../../../src/runtime/sandbox/sandbox-service.js";
import type { PodContainers } from "../../../src/runtime/sandbox/pod-teardown.js";
import { NameRegistry } from "../../../src/store/name-registry.js";
import { RecordStore } from "../../../src/store/record-store.js";
import type { CommandRunner, RunResult } from "../../../src/util/command.js";
import { NO_TEST_PAUSE } from "../../../src/util/test-pause.js";
import { StepTimers } from "../../../src/util/step-timer.js";

const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGQUIT: 3 };

/** A pid no process has: a short-lived child's, after it was reaped. */
export function deadPid(): number {
  const r = spawnSync("true");
  if (r.pid === undefined || r.pid <= 0) throw new Error("cannot spawn `true`");
  return r.pid;
}

/** Records every command; `fail` makes a program (by file name) exit 1. */
export class FakeRunner implements CommandRunner {
  readonly calls: string[] = [];
  readonly fail = new Set<string>();
  run(file: string, args: readonly string[]): Promise<RunResult> {
    this.calls.push([file, ...args].join(" "));
    const code = this.fail.has(file) ? 1 : 0;
    return Promise.resolve({
      code,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: Buffer.from(code === 0 ? "" : `${file} failed`),
      timedOut: false,
      truncated: false,
    });
  }
}

/**
 * The OCI runtime's view: created → running → stopped. A signal stops the container (unless
 * `ignore` holds the signal) and its exit is reported to the ExitWaiters as conmon's exit file
 * would be; `calls` lists what was asked.
 */
export class FakeRuntime implements RuntimeOps {
  readonly handler = { name: "runc", path: "/fake/runc", root: "/fake/runc-root" };
  readonly containers = new Map<string, RuntimeState>();
  readonly calls: string[] = [];
  /** Signals the fake processes ignore (a container that does not stop on SIGTERM). */
  readonly ignore = new Set<string>();
  /** Called with each exit, as the exit watcher would (set by the test harness). */
  onExit: (e: { id: string; exitCode: number; finishedAt: bigint }) => void = () => undefined;

  globalArgs(): string[] {
    return ["--root", this.handler.root];
  }
  /** What a successful `create` under conmon leaves. */
  created(id: string, pid: number): void {
    this.containers.set(id, {
      id,
      status: "created",
      pid,
      bundle: "",
      created: "",
      annotations: {},
    });
  }
  state(id: string): Promise<RuntimeState | undefined> {
    const st = this.containers.get(id);
    return Promise.resolve(st ? { ...st } : undefined);
  }
  start(id: string): Promise<void> {
    this.calls.push(`start ${id}`);
    const st = this.containers.get(id);
    if (!st || st.status !== "created") return Promise.reject(new Error(`cannot start ${id}`));
    st.status = "running";
    return Promise.resolve();
  }
  kill(id: string, signal: NodeJS.Signals | number, all = false): Promise<void> {
    const name = typeof signal === "number" ? String(signal) : signal;
    this.calls.push(`kill ${id} ${name}${all ? " --all" : ""}`);
    const st = this.containers.get(id);
    if (!st || st.status === "stopped") return Promise.reject(new Error("container not running"));
    if (this.ignore.has(name)) return Promise.resolve();
    st.status = "stopped";
    st.pid = 0;
    const code = 128 + (typeof signal === "number" ? signal : (SIGNALS[signal] ?? 1));
    // conmon writes the exit file after the process is gone: after kill returned.
    setImmediate(() =>
      this.onExit({ id, exitCode: code, finishedAt: BigInt(Date.now()) * 1_000_000n }),
    );
    return Promise.resolve();
  }
  delete(id: string, force = false): Promise<void> {
    this.calls.push(`delete ${id}${force ? " --force" : ""}`);
    this.containers.delete(id);
    return Promise.resolve();
  }
  update(id: string): Promise<void> {
    this.calls.push(`update ${id}`);
    return Promise.resolve();
  }
  execSync(): never {
    throw new Error("exec is not faked");
  }
}

/**
 * conmon as seen from berth: writes its pid file and reports the container's pid on the sync
 * pipe, after "creating" the container in the fake runtime. Its own pid is a dead one (the real
 * conmon daemonizes); the container's is this test process's, so its start time can be read.
 */
export class FakeLauncher implements ConmonLauncher {
  readonly launched: string[] = [];
  /** When set, the runtime's create fails with this message (conmon reports pid -1). */
  failWith: string | undefined;
  constructor(
    private readonly runtime: FakeRuntime,
    private readonly conmonPid = deadPid(),
  ) {}

  async launch(l: ConmonLaunch): Promise<LaunchOutcome> {
    const arg = (flag: string): string => l.args[l.args.indexOf(flag) + 1] ?? "";
    const id = arg("--cid");
    this.launched.push(id);
    await writeFile(arg("--conmon-pidfile"), `${this.conmonPid}`);
    if (this.failWith !== undefined) {
      const syncLine = JSON.stringify({ data: -1, message: this.failWith });
      return { exitCode: 0, stderr: "", syncLine, syncTimedOut: false };
    }
    this.runtime.created(id, process.pid);
    return {
      exitCode: 0,
      stderr: "",
      syncLine: JSON.stringify({ data: process.pid }),
      syncTimedOut: false,
    };
  }
}

/** CNI: one address per pod from 10.88.0.0/16; `failSetup` makes ADD fail (after nothing). */
export class FakeCni {
  readonly attached = new Map<string, string>();
  readonly deleted: string[] = [];
  failSetup: string | undefined;
  private next = 2;

  setupPodNetwork(req: PodNetworkRequest): Promise<PodNetworkStatus> {
    if (this.failSetup !== undefined) return Promise.reject(new Error(this.failSetup));
    const ip = `10.88.0.${this.next++}`;
    this.attached.set(req.sandboxId, ip);
    return Promise.resolve({ ips: [ip], interfaces: [] } as unknown as PodNetworkStatus);
  }
  teardownPodNetwork(req: PodNetworkRequest): Promise<void> {
    this.deleted.push(req.sandboxId);
    this.attached.delete(req.sandboxId);
    return Promise.resolve();
  }
  attachedSandboxIds(): Promise<string[]> {
    return Promise.resolve([...this.attached.keys()]);
  }
  /** What deletesWithoutNetns answers. */
  netnsFreeDel = true;
  deletesWithoutNetns(): Promise<boolean> {
    return Promise.resolve(this.netnsFreeDel);
  }
}

/** A pod's containers as StopPodSandbox/RemovePodSandbox see them; `calls` has "kill <pod>"... */
export function fakePodContainers(calls: string[] = []): PodContainers & { calls: string[] } {
  const record = (what: string) => (sandboxId: string) => {
    calls.push(`${what} ${sandboxId}`);
    return Promise.resolve();
  };
  return { calls, kill: record("kill"), release: record("release"), remove: record("remove") };
}

/** An image whose snapshot is an empty dir; `released` counts the ended leases. */
export class FakeImages {
  released = 0;
  constructor(private readonly lower: string) {}
  forContainer(image: string): Promise<ContainerImage> {
    return Promise.resolve({
      id: `sha256:${"a".repeat(64)}`,
      ref: `${image}@sha256:${"b".repeat(64)}`,
      config: {},
      lowerDirs: [this.lower],
      topChainId: `sha256:${"c".repeat(64)}`,
      release: () => {
        this.released++;
      },
    });
  }
}

export type FakeDeps = SandboxDeps & ContainerDeps & ContainerCreateDeps & RecoveryDeps;

export interface Harness {
  dir: string;
  sandboxes: SandboxService;
  containers: ContainerService;
  deps: FakeDeps;
  runtime: FakeRuntime;
  launcher: FakeLauncher;
  cni: FakeCni;
  runner: FakeRunner;
  images: FakeImages;
  events: RuntimeEvent[];
  /** Every step the services' timers observed, as "op/step". */
  stepsSeen: string[];
  /** Waits for queued exit reports and event deliveries. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Everything the services take, faked, with its files in a fresh temp dir. */
export async function harness(): Promise<Harness> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "berth-services-"));
  const paths = new RuntimePaths(path.join(dir, "root"), path.join(dir, "state"));
  for (const d of [paths.sandboxRecords, paths.containerRecords, path.join(dir, "lower")]) {
    await mkdir(d, { recursive: true });
  }
  const runtime = new FakeRuntime();
  const launcher = new FakeLauncher(runtime);
  const cni = new FakeCni();
  const runner = new FakeRunner();
  const images = new FakeImages(path.join(dir, "lower"));
  const exits = new ExitWaiters();
  const bus = new EventBus();
  const ac = new AbortController();
  const events: RuntimeEvent[] = [];
  const stepsSeen: string[] = [];
  void (async () => {
    for await (const e of bus.subscribe(ac.signal)) events.push(e);
  })();
  const probe: HandlerProbe = {
    ...runtime.handler,
    ok: true,
    reason: "",
    version: "fake",
    features: { recursiveReadOnlyMounts: false, userNamespaces: false },
  };
  const deps: FakeDeps = {
    log: silentLogger(),
    ociRuntime: (name) => {
      if (name !== "runc") throw new Error(`no handler ${name}`);
      return runtime;
    },
    testPause: NO_TEST_PAUSE,
    oomScoreAdjMin: -1000,
    allCapabilities: ["CAP_CHOWN", "CAP_KILL"],
    hostFeatures: { apparmor: false, selinux: false },
    config: {
      cgroup_driver: "systemd",
      conmon_path: "/fake/conmon",
      infra_init_path: "/fake/catatonit",
      // These fakes drive the infra container's path (conmon + runtime); pods without an infra
      // are covered by test/unit/runtime-sandbox and the root suite runtime/infra-less.
      drop_infra_ctr: false,
    },
    runner,
    paths,
    handlers: { resolve: () => probe, usable: () => [probe] },
    sandboxes: new RecordStore<SandboxRecord>(paths.sandboxRecords, "pod sandbox", sandboxCodec),
    containers: new RecordStore<ContainerRecord>(
      paths.containerRecords,
      "container",
      containerCodec,
    ),
    sandboxNames: new NameRegistry("pod sandbox"),
    containerNames: new NameRegistry("container"),
    launcher,
    cni,
    images,
    exits,
    events: bus,
    metrics: {
      oomKills: { inc: () => undefined },
      steps: new StepTimers({ observe: (labels) => stepsSeen.push(`${labels.op}/${labels.step}`) }),
    },
  };
  const sandboxes = new SandboxService(deps);
  const containers = new ContainerService(deps, () => undefined);
  // As assemble.ts wires the exit watcher: waiters first, then the owner of the record.
  runtime.onExit = (e) => {
    exits.notify(e);
    void (deps.sandboxes.get(e.id) ? sandboxes.onInfraExit(e) : containers.onExit(e));
  };
  return {
    dir,
    sandboxes,
    containers,
    deps,
    runtime,
    launcher,
    cni,
    runner,
    images,
    events,
    stepsSeen,
    settle: () => new Promise((r) => setTimeout(r, 20)),
    close: async () => {
      ac.abort();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
