// Builds berth's services from the configuration and wires them into CRI handlers: image
// stores and puller, the runtime (sandboxes, containers, conmon, exit watcher), CNI. Recovery
// runs before the daemon serves.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { BerthConfig } from "./config/config.js";
import type { CriHandlers } from "./cri/handlers.js";
import { containerHandlers } from "./cri/containers.js";
import { imageHandlers } from "./cri/images.js";
import { podSandboxHandlers } from "./cri/pod-sandboxes.js";
import { statsHandlers } from "./cri/stats.js";
import { type StreamUrls, streamingHandlers } from "./cri/streaming.js";
import { errorMessage } from "./errors.js";
import { ContainerImages } from "./image/container-images.js";
import { ContentStore } from "./image/content-store.js";
import { ImageStore } from "./image/image-store.js";
import { LazyPuller } from "./image/lazy-puller.js";
import { SnapshotStore } from "./image/snapshots.js";
import type { Logger } from "./log.js";
import type { BerthMetrics } from "./metrics/berth-metrics.js";
import { containerCgroupDirs, type ContainerCgroupDirs } from "./cgroup/container-cgroup.js";
import {
  CgroupMigrationWarmup,
  SELF_CGROUP,
  ownCgroupProcsFile,
} from "./cgroup/migration-warmup.js";
import { createContainerStats } from "./metrics/container-stats.js";
import type { MetricsSource } from "./metrics/http-server.js";
import { CniRunner } from "./network/cni-runner.js";
import { writeDefaultConflist } from "./network/default-conflist.js";
import { ContainerService } from "./runtime/container/container-service.js";
import { EventBus } from "./runtime/events.js";
import { ExitWaiters } from "./runtime/exit-waiters.js";
import type { HandlerRegistry } from "./runtime/handler-registry.js";
import { type HostFacts, readHostFacts } from "./runtime/host-facts.js";
import { ProcessConmonLauncher } from "./runtime/oci/conmon-launcher.js";
import { type ExitEvent, ExitWatcher } from "./runtime/oci/exit-watcher.js";
import { MonitorCheck } from "./runtime/monitor-check.js";
import { sameProcessAlive } from "./util/proc-identity.js";
import { testPauseFromEnv } from "./util/test-pause.js";
import { RuntimePaths } from "./runtime/paths.js";
import {
  loadRecords,
  reconcileContainers,
  reconcileSandboxes,
  releaseOrphanNetworks,
  removeOrphans,
} from "./runtime/recovery.js";
import { removeOrphanExitFiles, removeOrphanSocketLinks } from "./runtime/recovery-leftovers.js";
import type { ContainerRecord, SandboxRecord } from "./runtime/records.js";
import { containerCodec, sandboxCodec } from "./runtime/record-codecs.js";
import { type RuntimeContext, ociRuntimeFactory } from "./runtime/runtime-context.js";
import type { RuntimeConfigStore } from "./runtime/runtime-config-store.js";
import { SandboxService } from "./runtime/sandbox/sandbox-service.js";
import { RuntimeStreams } from "./runtime/streaming/runtime-streams.js";
import { NameRegistry } from "./store/name-registry.js";
import { RecordStore } from "./store/record-store.js";
import type { StreamingRuntime } from "./streaming/types.js";
import type { CommandRunner } from "./util/command.js";

/** How often recorded conmon pids are checked (a dead monitor is noticed within this). */
const MONITOR_CHECK_INTERVAL_MS = 1000;

/** An exit no exit file recorded (the infra's monitor is gone): status unknown. */
function goneExit(id: string): ExitEvent {
  return { id, exitCode: 255, finishedAt: 0n };
}

export interface Assembled {
  handlers: CriHandlers;
  ctx: RuntimeContext;
  host: HostFacts;
  cni: CniRunner;
  /** Per-container cgroup metrics for /metrics. */
  containerMetrics: MetricsSource;
  /** Exec, attach and port-forward on berth's containers, for the streaming server. */
  streams: StreamingRuntime;
  close(): Promise<void>;
}

export interface AssembleDeps {
  config: BerthConfig;
  log: Logger;
  runner: CommandRunner;
  metrics: BerthMetrics;
  runtimeHandlers: HandlerRegistry;
  runtimeConfig: RuntimeConfigStore;
  /** The streaming server's URLs, for Exec, Attach and PortForward. */
  streamUrls: StreamUrls;
}

/** Writes berth's default network when enabled and no other config exists. */
async function ensureDefaultNetwork(deps: AssembleDeps, paths: RuntimePaths): Promise<void> {
  const { config, log } = deps;
  if (!config.cni.default_network) return;
  const podCidr = deps.runtimeConfig.podCidr;
  const res = await writeDefaultConflist(config.cni.default_conf_dir, {
    bridge: config.cni.bridge,
    subnet: config.cni.subnet,
    ...(podCidr !== "" ? { podCidr } : {}),
    ipamDataDir: paths.cniIpam,
  });
  if (res.written) log.info({ file: res.file }, "wrote berth's default CNI network");
}

export async function assemble(deps: AssembleDeps): Promise<Assembled> {
  const { config, log, runner, metrics } = deps;
  const paths = new RuntimePaths(config.root, config.state);
  const host = await readHostFacts();
  const warmup = new CgroupMigrationWarmup(
    ownCgroupProcsFile(host.cgroups, await fs.readFile(SELF_CGROUP, "utf8")),
  );

  const content = await ContentStore.open(config.root);
  const snapshots = await SnapshotStore.open({ root: config.root, runner, logger: log });
  const images = new ImageStore(path.join(config.root, "images"), content, snapshots, log);
  await images.load();
  const puller = new LazyPuller(
    {
      registries: config.registries,
      progressTimeoutMs: config.pull_progress_timeout_seconds * 1000,
      logger: log,
    },
    {
      content,
      snapshots,
      images,
      metrics,
      log,
      runner,
      maxConcurrentDownloads: config.max_concurrent_downloads,
    },
  );

  await ensureDefaultNetwork(deps, paths);
  deps.runtimeConfig.onPodCidrChange(() => ensureDefaultNetwork(deps, paths));
  const cni = new CniRunner({
    runner,
    logger: log,
    confDirs: config.cni.default_network
      ? [config.cni.conf_dir, config.cni.default_conf_dir]
      : [config.cni.conf_dir],
    pluginDirs: config.cni.plugin_dirs,
    cacheDir: paths.cniResults,
    observe: (op, seconds, error) => {
      metrics.cniDuration.observe({ operation: op }, seconds);
      if (error !== undefined) metrics.cniErrors.inc({ operation: op });
    },
  });

  const ctx: RuntimeContext = {
    config,
    log,
    runner,
    metrics,
    paths,
    handlers: deps.runtimeHandlers,
    sandboxes: new RecordStore<SandboxRecord>(paths.sandboxRecords, "pod sandbox", sandboxCodec),
    containers: new RecordStore<ContainerRecord>(
      paths.containerRecords,
      "container",
      containerCodec,
    ),
    sandboxNames: new NameRegistry("pod sandbox"),
    containerNames: new NameRegistry("container"),
    launcher: new ProcessConmonLauncher(() => warmup.kick()),
    cni,
    images: new ContainerImages(images, snapshots),
    exits: new ExitWaiters(),
    events: new EventBus(),
    oomScoreAdjMin: host.oomScoreAdjMin,
    allCapabilities: host.allCapabilities,
    hostFeatures: host.features,
    testPause: testPauseFromEnv(process.env, log),
    ociRuntime: ociRuntimeFactory(deps.runtimeHandlers, runner, config, paths.tmp, () =>
      warmup.kick(),
    ),
  };
  const containerCgroups = (cgroupsPath: string): ContainerCgroupDirs | undefined =>
    containerCgroupDirs(host.cgroups, config.cgroup_driver, cgroupsPath);
  const sandboxes = new SandboxService(ctx);
  const containers = new ContainerService(ctx, containerCgroups);

  await loadRecords(ctx);
  const recording = new Set<Promise<void>>();
  const watcher = new ExitWatcher(
    paths.exitDir,
    (e) => {
      ctx.exits.notify(e);
      // An infra's exit belongs to its sandbox, whose service alone sets the sandbox's state.
      const handled = ctx.sandboxes.get(e.id) ? sandboxes.onInfraExit(e) : containers.onExit(e);
      const p = handled
        .catch((err: unknown) => {
          log.error({ container_id: e.id, err: errorMessage(err) }, "cannot record exit");
        })
        .finally(() => recording.delete(p));
      recording.add(p);
    },
    { logger: log },
  );
  await watcher.start();
  // Exits conmon wrote while berthd was down are recorded before anything else is judged.
  await Promise.all([...recording]);
  await reconcileContainers(ctx);
  await reconcileSandboxes(ctx, (id) => sandboxes.onInfraExit(goneExit(id), "pod infra gone"));
  const monitors = new MonitorCheck({
    containers: ctx.containers,
    sandboxes: ctx.sandboxes,
    sameProcessAlive: (pid, start) => sameProcessAlive(pid, start),
    runtimeState: (handler, id) => ctx.ociRuntime(handler).state(id),
    rescanExits: async () => {
      await watcher.rescan();
      await Promise.all([...recording]);
    },
    containerGone: (id) => containers.onMonitorLost(id),
    infraGone: (id) => sandboxes.onInfraExit(goneExit(id), "pod infra gone with its conmon"),
    log,
  });
  monitors.start(MONITOR_CHECK_INTERVAL_MS);
  await removeOrphans(ctx);
  await releaseOrphanNetworks(ctx);
  await removeOrphanExitFiles(ctx);
  await removeOrphanSocketLinks(ctx);

  const podDeps = { ctx, sandboxes, containers };
  const stats = createContainerStats({
    ctx,
    setup: host.cgroups,
    podProcessCgroupsPath: (parent, id) => sandboxes.cgroupsPath(parent, id),
    log,
  });
  return {
    handlers: {
      ...podSandboxHandlers(podDeps),
      ...containerHandlers(podDeps),
      ...streamingHandlers(podDeps, deps.streamUrls),
      ...imageHandlers({
        images,
        puller,
        content,
        snapshots,
        runtime: ctx,
        imageFsDir: config.root,
      }),
      ...statsHandlers({
        ctx,
        sample: () => stats.sampler.sample(),
        ownerEnv: (sample) => stats.collector.ownerEnv(sample),
        view: { fsMountpoint: config.root, swapLimitIsSwapOnly: host.cgroups.mode === "v2" },
      }),
    },
    ctx,
    host,
    cni,
    containerMetrics: stats.collector,
    streams: new RuntimeStreams({
      containers: ctx.containers,
      sandboxes: ctx.sandboxes,
      ociRuntime: (name) => ctx.ociRuntime(name),
      paths,
      log: log.child({ component: "streaming" }),
    }),
    close: async () => {
      stats.close();
      monitors.close();
      watcher.close();
      await puller.close();
    },
  };
}
