// What the runtime services depend on. assemble.ts builds one RuntimeContext (configuration,
// stores, the OCI runtimes per handler, conmon, the network and image services, the exit
// watcher's waiters); each service takes only the narrow part it uses (SandboxDeps,
// ContainerDeps, ContainerCreateDeps, RecoveryDeps), so unit tests give it fakes.
import type { BerthConfig } from "../config/config.js";
import type { Logger } from "../log.js";
import type { BerthMetrics } from "../metrics/berth-metrics.js";
import type { CniRunner } from "../network/cni-runner.js";
import type { CommandRunner } from "../util/command.js";
import type { StepTimers } from "../util/step-timer.js";
import type { TestPause } from "../util/test-pause.js";
import type { ImageLookup } from "./container/image-lookup.js";
import type { EventBus } from "./events.js";
import type { ExitWaiters } from "./exit-waiters.js";
import type { HandlerRegistry } from "./handler-registry.js";
import type { ConmonLauncher } from "./oci/conmon-launcher.js";
import { OciRuntime } from "./oci/oci-runtime.js";
import type { RuntimePaths } from "./paths.js";
import type { ContainerRecord, SandboxRecord } from "./records.js";
import type { HostFeatures } from "./spec/context.js";
import type { NameRegistry } from "../store/name-registry.js";
import type { RecordStore } from "../store/record-store.js";

/** The OCI runtime operations the services call (an OciRuntime; a fake in unit tests). */
export type RuntimeOps = Pick<
  OciRuntime,
  "handler" | "globalArgs" | "state" | "start" | "kill" | "delete" | "update" | "execSync"
>;

interface CommonDeps {
  log: Logger;
  ociRuntime(handlerName: string): RuntimeOps;
  /** Test-only pause points (src/util/test-pause.ts); a no-op unless a chaos test armed one. */
  testPause: TestPause;
}

/** Per-step timers of the lifecycle RPCs (berth_operation_step_seconds). */
interface StepDeps {
  metrics: { steps: StepTimers };
}

/** What building a spec for a pod's process needs to know of this host and of berth. */
interface SpecHostDeps {
  /** Lowest oom_score_adj berth may set (0 without CAP_SYS_RESOURCE). */
  oomScoreAdjMin: number;
  /** Capabilities berth holds (its bounding set), for privileged containers. */
  allCapabilities: string[];
  hostFeatures: HostFeatures;
}

/** SandboxService: pods, their network, their infra under conmon. */
export interface SandboxDeps extends CommonDeps, SpecHostDeps, StepDeps {
  config: Pick<BerthConfig, "cgroup_driver" | "conmon_path" | "infra_init_path" | "drop_infra_ctr">;
  runner: CommandRunner;
  paths: RuntimePaths;
  handlers: Pick<HandlerRegistry, "resolve">;
  sandboxes: RecordStore<SandboxRecord>;
  sandboxNames: NameRegistry;
  launcher: ConmonLauncher;
  cni: Pick<CniRunner, "setupPodNetwork" | "teardownPodNetwork" | "deletesWithoutNetns">;
  exits: ExitWaiters;
  events: EventBus;
}

/** ContainerService: containers after creation. */
export interface ContainerDeps extends CommonDeps {
  runner: CommandRunner;
  paths: RuntimePaths;
  metrics: { oomKills: Pick<BerthMetrics["oomKills"], "inc">; steps: StepTimers };
  containers: RecordStore<ContainerRecord>;
  containerNames: NameRegistry;
  /** Read only: a container starts only in a ready pod. */
  sandboxes: Pick<RecordStore<SandboxRecord>, "get">;
  exits: ExitWaiters;
  events: EventBus;
}

/** CreateContainer (src/runtime/container/container-create.ts). */
export interface ContainerCreateDeps extends CommonDeps, SpecHostDeps, StepDeps {
  config: Pick<BerthConfig, "conmon_path">;
  runner: CommandRunner;
  paths: RuntimePaths;
  containers: RecordStore<ContainerRecord>;
  containerNames: NameRegistry;
  images: ImageLookup;
  launcher: ConmonLauncher;
  events: EventBus;
}

/** Startup recovery (src/runtime/recovery.ts, recovery-leftovers.ts). */
export interface RecoveryDeps {
  log: Logger;
  ociRuntime(handlerName: string): Pick<OciRuntime, "state" | "delete">;
  config: Pick<BerthConfig, "cgroup_driver">;
  runner: CommandRunner;
  paths: RuntimePaths;
  handlers: Pick<HandlerRegistry, "usable">;
  sandboxes: RecordStore<SandboxRecord>;
  containers: RecordStore<ContainerRecord>;
  sandboxNames: NameRegistry;
  containerNames: NameRegistry;
  cni: Pick<CniRunner, "attachedSandboxIds" | "teardownPodNetwork">;
}

/** Everything, as assemble.ts wires it; the CRI layer reads it, services take their part. */
export interface RuntimeContext {
  config: BerthConfig;
  log: Logger;
  runner: CommandRunner;
  metrics: BerthMetrics;
  paths: RuntimePaths;
  handlers: HandlerRegistry;
  sandboxes: RecordStore<SandboxRecord>;
  containers: RecordStore<ContainerRecord>;
  sandboxNames: NameRegistry;
  containerNames: NameRegistry;
  launcher: ConmonLauncher;
  cni: CniRunner;
  images: ImageLookup;
  exits: ExitWaiters;
  events: EventBus;
  /** Lowest oom_score_adj berth may set (0 without CAP_SYS_RESOURCE). */
  oomScoreAdjMin: number;
  /** Capabilities berth holds (its bounding set), for privileged containers. */
  allCapabilities: string[];
  hostFeatures: HostFeatures;
  /** Test-only pause points (src/util/test-pause.ts); a no-op unless a chaos test armed one. */
  testPause: TestPause;
  ociRuntime(handlerName: string): OciRuntime;
}

/** One OciRuntime per handler, made on first use. */
export function ociRuntimeFactory(
  handlers: HandlerRegistry,
  runner: CommandRunner,
  config: BerthConfig,
  tmpDir: string,
  beforeExec?: () => void,
): (name: string) => OciRuntime {
  const cache = new Map<string, OciRuntime>();
  return (name) => {
    let rt = cache.get(name);
    if (!rt) {
      const probe = handlers.resolve(name);
      rt = new OciRuntime({ name: probe.name, path: probe.path, root: probe.root }, runner, {
        cgroupDriver: config.cgroup_driver,
        tmpDir,
        ...(beforeExec ? { beforeExec } : {}),
      });
      cache.set(name, rt);
    }
    return rt;
  };
}
