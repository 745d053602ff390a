// berthd's life: prepare directories, probe runtime handlers, serve the CRI socket (refusing
// calls until recovery is done), serve /metrics, and shut down cleanly.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type * as grpc from "@grpc/grpc-js";
import type { BerthConfig } from "./config/config.js";
import { parseHostPort } from "./config/load.js";
import { ConfigError } from "./config/validate.js";
import { lockDaemonPaths, releaseLocks } from "./daemon-locks.js";
import { type Assembled, assemble } from "./assemble.js";
import type { CriHandlers } from "./cri/handlers.js";
import { loadCriDefinitions } from "./cri/proto.js";
import { runtimeInfoHandlers } from "./cri/runtime-info.js";
import { bindUnix, createCriServer } from "./cri/server.js";
import { errorMessage } from "./errors.js";
import type { Logger } from "./log.js";
import { BerthMetrics } from "./metrics/berth-metrics.js";
import { MetricsHttpServer, registrySource } from "./metrics/http-server.js";
import { type HandlerProbe, HandlerRegistry } from "./runtime/handler-registry.js";
import { RuntimeConfigStore } from "./runtime/runtime-config-store.js";
import { type ConfiguredStreaming, streamingServerFromConfig } from "./streaming/from-config.js";
import type { CommandRunner } from "./util/command.js";
import type { PidLock } from "./util/pid-lock.js";
import { prepareSocketPath } from "./util/unix-socket.js";

export interface DaemonDeps {
  config: BerthConfig;
  log: Logger;
  runner: CommandRunner;
  /** Probes one configured runtime handler. */
  probeHandler: (name: string, path: string, root: string) => Promise<HandlerProbe>;
}

export class Daemon {
  readonly metrics = new BerthMetrics();
  private server: grpc.Server | undefined;
  private metricsServer: MetricsHttpServer | undefined;
  private streaming: ConfiguredStreaming | undefined;
  private ready = false;
  private assembled: Assembled | undefined;
  private socketCreated = false;
  private locks: PidLock[] = [];
  metricsPort: number | undefined;

  constructor(private readonly deps: DaemonDeps) {}

  async start(): Promise<void> {
    const { config, log } = this.deps;
    // Before any side effect: bind every listener (a port in use fails here; binding touches no
    // file), then lock the socket, root and state against another berthd (daemon-locks.ts).
    await this.bindListeners();
    this.locks = await lockDaemonPaths(config);

    const runtimeConfig = await RuntimeConfigStore.open(config.root);
    const probes = await Promise.all(
      Object.entries(config.runtimes).map(([name, h]) =>
        this.deps.probeHandler(name, h.path, h.root || path.join(config.state, "runtimes", name)),
      ),
    );
    for (const p of probes) {
      if (p.ok) log.info({ handler: p.name, version: p.version }, "runtime handler ready");
      else log.warn({ handler: p.name, reason: p.reason }, "runtime handler unusable");
    }
    const runtimeHandlers = new HandlerRegistry(probes, config.default_runtime);
    log.info({ default: runtimeHandlers.defaultName ?? null }, "default runtime handler");

    this.assembled = await assemble({
      config,
      log,
      runner: this.deps.runner,
      metrics: this.metrics,
      runtimeHandlers,
      runtimeConfig,
      streamUrls: this.streaming!.server,
    });
    this.streaming?.bind(this.assembled.streams);
    const cni = this.assembled.cni;
    const handlers: CriHandlers = {
      ...this.assembled.handlers,
      ...runtimeInfoHandlers({
        config,
        runtimeHandlers,
        runtimeConfig,
        networkReadiness: async () => {
          const r = await cni.readiness();
          return r.ready
            ? { ready: true, reason: "", message: "" }
            : {
                ready: false,
                reason: "NetworkPluginNotReady",
                message: `Network plugin returns error: cni config uninitialized: ${r.reason}`,
              };
        },
      }),
    };

    const defs = loadCriDefinitions();
    this.metricsServer?.addSource(this.assembled.containerMetrics);
    // Recovery is done (assemble): from the socket's first moment, calls are served. Readiness
    // set after the bind answered a call in between UNAVAILABLE ("berthd is starting").
    this.ready = true;
    this.server = createCriServer(defs, handlers, {
      log,
      metrics: this.metrics,
      isReady: () => this.ready,
    });
    await prepareSocketPath(config.listen);
    await bindUnix(this.server, config.listen);
    this.socketCreated = true;
    await fs.chmod(config.listen, 0o660);
    log.info({ socket: config.listen }, "CRI server listening");
    log.info("berthd ready");
  }

  /** Binds the TCP listeners; a bad address or a port in use names its configuration key. */
  private async bindListeners(): Promise<void> {
    const { config, log } = this.deps;
    if (config.metrics_address !== "") {
      const hp = parseHostPort(config.metrics_address);
      if (hp) {
        this.metricsServer = new MetricsHttpServer([registrySource(this.metrics.registry)], log);
        const addr = await this.metricsServer.listen(hp.host, hp.port).catch((err: unknown) => {
          throw new ConfigError(
            "metrics_address",
            `cannot listen on ${config.metrics_address}: ${errorMessage(err)}`,
          );
        });
        this.metricsPort = addr.port;
        log.info({ address: `${addr.address}:${addr.port}` }, "metrics endpoint listening");
      }
    }
    const streaming = streamingServerFromConfig(config, log, this.metrics);
    const addr = await streaming.server.listen().catch((err: unknown) => {
      throw new ConfigError(
        "streaming_address",
        `cannot listen on ${config.streaming_address}: ${errorMessage(err)}`,
      );
    });
    this.streaming = streaming;
    log.info({ address: `${addr.host}:${addr.port}` }, "streaming server listening");
  }

  /** Stops listening, lets in-flight calls finish (briefly), removes the socket. */
  async stop(graceMs = 1500): Promise<void> {
    this.ready = false;
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.metricsServer?.close();
    await this.streaming?.server.close();
    await this.assembled?.close();
    // Only a socket this daemon bound: one found in place may be another process's.
    if (this.socketCreated) {
      try {
        await fs.rm(this.deps.config.listen, { force: true });
      } catch (err) {
        this.deps.log.warn({ err: errorMessage(err) }, "cannot remove socket");
      }
    }
    await releaseLocks(this.locks, this.deps.log);
    this.locks = [];
  }
}
