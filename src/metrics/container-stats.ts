// Builds berth's per-container statistics from the runtime: targets from the records, the
// shared sampler, background writable-layer measurement, and the Prometheus source.
import { WorkerFileReader } from "../cgroup/worker-file-reader.js";
import * as path from "node:path";
import type { Logger } from "../log.js";
import { errorMessage } from "../errors.js";
import type { RuntimeContext } from "../runtime/runtime-context.js";
import { nowNs } from "../util/time.js";
import { BlockDeviceNames, filesystemDevice } from "./block-devices.js";
import type { CgroupSetup } from "../cgroup/index.js";
import { ContainerMetricsCollector } from "./container-collector.js";
import { LayerUsageCache } from "./layer-usage.js";
import { countStates } from "./state-counts.js";
import { StatsSampler } from "./stats-sampler.js";
import { buildTargets } from "./stats-targets.js";

export interface ContainerStatsDeps {
  ctx: RuntimeContext;
  setup: CgroupSetup;
  /** The OCI cgroupsPath of a pod's processes (SandboxService.cgroupsPath). */
  podProcessCgroupsPath: (cgroupParent: string, id: string) => string;
  log: Logger;
}

export interface ContainerStatsParts {
  sampler: StatsSampler;
  collector: ContainerMetricsCollector;
  layers: LayerUsageCache;
  close(): void;
}

export function createContainerStats(deps: ContainerStatsDeps): ContainerStatsParts {
  const { ctx, log } = deps;
  const layers = new LayerUsageCache({
    dirOf: (id) => path.join(ctx.paths.containerLayer(id), "upper"),
    nowNs,
    onError: (id, err) =>
      log.warn({ container_id: id, err: errorMessage(err) }, "cannot measure writable layer"),
  });
  const fileReader = new WorkerFileReader({
    onWorkerFailed: (err) =>
      log.error({ err: errorMessage(err) }, "cgroup reader worker failed; starting another"),
  });
  const sampler = new StatsSampler({
    setup: deps.setup,
    log,
    layers,
    fileReader,
    listTargets: () =>
      buildTargets(ctx.sandboxes.peek(), ctx.containers.peek(), {
        driver: ctx.config.cgroup_driver,
        podProcessCgroupsPath: deps.podProcessCgroupsPath,
      }),
  });
  const collector = new ContainerMetricsCollector({
    sample: () => sampler.sample(),
    devices: new BlockDeviceNames(),
    fsDevice: () => filesystemDevice(ctx.config.root),
  });
  ctx.metrics.setStateCounts(() => countStates(ctx.sandboxes.peek(), ctx.containers.peek()));
  return {
    sampler,
    collector,
    layers,
    close: () => {
      layers.close();
      void fileReader.close();
    },
  };
}
