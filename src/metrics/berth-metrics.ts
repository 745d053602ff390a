// berth's own operation metrics, on a registry of its own (never prom-client's global one), so
// tests and several daemons in one process do not collide. Every name starts with `berth_`.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { StepTimers } from "../util/step-timer.js";

/** Containers and sandboxes by CRI state, counted at scrape time. */
export interface StateCounts {
  containers: Record<string, number>;
  sandboxes: Record<string, number>;
}

/**
 * How often the event-loop delay behind berth_nodejs_eventloop_lag_* is sampled. prom-client's
 * default, 10 ms, is a timer that wakes an idle berthd 100 times a second; 100 ms wakes it 10
 * times (the idle main thread's CPU here: 1.3% of a core against 0.8-1.1%), and still sees
 * every stall that matters to a CRI call.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

export class BerthMetrics {
  readonly registry = new Registry();

  readonly rpcDuration = new Histogram({
    name: "berth_rpc_duration_seconds",
    help: "Latency of CRI gRPC calls, by service, method and gRPC status code.",
    labelNames: ["service", "method", "code"] as const,
    buckets: [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ],
    registers: [this.registry],
  });

  readonly operationSteps = new Histogram({
    name: "berth_operation_step_seconds",
    help: "Time of each step of a lifecycle operation (RunPodSandbox, CreateContainer, ...), by operation and step.",
    labelNames: ["op", "step"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Step timers for lifecycle operations (see step-timer.ts). */
  readonly steps = new StepTimers(this.operationSteps);

  readonly rpcErrors = new Counter({
    name: "berth_rpc_errors_total",
    help: "CRI gRPC calls that ended with a status other than OK, by service, method and code.",
    labelNames: ["service", "method", "code"] as const,
    registers: [this.registry],
  });

  readonly imagePulls = new Counter({
    name: "berth_image_pulls_total",
    help: "Image pulls, by result (success, failure).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly imagePullBytes = new Counter({
    name: "berth_image_pull_bytes_total",
    help: "Bytes of image content downloaded from registries.",
    registers: [this.registry],
  });

  readonly imagePullDuration = new Histogram({
    name: "berth_image_pull_duration_seconds",
    help: "Duration of successful image pulls, including unpacking.",
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  readonly layerReuse = new Counter({
    name: "berth_image_layers_reused_total",
    help: "Layers a pull did not download or unpack because a snapshot already had them.",
    registers: [this.registry],
  });

  readonly cniDuration = new Histogram({
    name: "berth_cni_operation_duration_seconds",
    help: "Latency of CNI operations (ADD, DEL, CHECK, STATUS) over the whole plugin chain.",
    labelNames: ["operation"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly cniErrors = new Counter({
    name: "berth_cni_operation_errors_total",
    help: "CNI operations that failed, by operation.",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });

  readonly streamingSessions = new Gauge({
    name: "berth_streaming_sessions",
    help: "Exec, attach and port-forward sessions open now, by kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  readonly streamingSessionsTotal = new Counter({
    name: "berth_streaming_sessions_total",
    help: "Exec, attach and port-forward sessions that ended, by kind and result (success, error).",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });

  readonly oomKills = new Counter({
    name: "berth_container_oom_kills_total",
    help: "Containers berth saw end with OOMKilled.",
    registers: [this.registry],
  });

  private stateCounts: (() => StateCounts) | undefined;

  readonly containersByState: Gauge<"state"> = new Gauge({
    name: "berth_containers",
    help: "Containers berth knows, by state (CONTAINER_CREATED, CONTAINER_RUNNING, ...).",
    labelNames: ["state"] as const,
    registers: [this.registry],
    collect: () => this.collectStates(this.containersByState, (c) => c.containers),
  });

  readonly sandboxesByState: Gauge<"state"> = new Gauge({
    name: "berth_pod_sandboxes",
    help: "Pod sandboxes berth knows, by state (SANDBOX_READY, SANDBOX_NOTREADY).",
    labelNames: ["state"] as const,
    registers: [this.registry],
    collect: () => this.collectStates(this.sandboxesByState, (c) => c.sandboxes),
  });

  /** Counts containers and sandboxes by state at every scrape (set once the runtime exists). */
  setStateCounts(count: () => StateCounts): void {
    this.stateCounts = count;
  }

  private collectStates(gauge: Gauge<"state">, pick: (c: StateCounts) => Record<string, number>) {
    if (this.stateCounts === undefined) return;
    gauge.reset();
    for (const [state, n] of Object.entries(pick(this.stateCounts()))) gauge.set({ state }, n);
  }

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) {
      collectDefaultMetrics({
        register: this.registry,
        prefix: "berth_",
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      });
    }
  }
}
