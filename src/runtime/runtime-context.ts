// What the sandbox and container services share: configuration, stores, the OCI runtimes per
// handler, conmon, the network and image services, and the exit watcher's waiters.
import type { BerthConfig } from "../config/config.js";
import type { Logger } from "../log.js";
import type { BerthMetrics } from "../metrics/berth-metrics.js";
import type { CniRunner } from "../network/cni-runner.js";
import type { CommandRunner } from "../util/command.js";
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
): (name: string) => OciRuntime {
  const cache = new Map<string, OciRuntime>();
  return (name) => {
    let rt = cache.get(name);
    if (!rt) {
      const probe = handlers.resolve(name);
      rt = new OciRuntime({ name: probe.name, path: probe.path, root: probe.root }, runner, {
        cgroupDriver: config.cgroup_driver,
        tmpDir,
      });
      cache.set(name, rt);
    }
    return rt;
  };
}
