// The streaming server as berthd's configuration describes it: address, TLS, limits, and the
// session metrics. The runtime is bound late: the server listens before anything else starts
// (so a port in use fails first), while the runtime exists only once the services are built;
// no token can be issued before then, as the CRI answers nothing until recovery is done.
import type { BerthConfig } from "../config/config.js";
import { UnavailableError } from "../errors.js";
import type { Logger } from "../log.js";
import type { BerthMetrics } from "../metrics/berth-metrics.js";
import { StreamingServer } from "./server.js";
import type { StreamingRuntime } from "./types.js";

// The SPDY/3.1 framing (and pako, its header compression) loads with the first SPDY session.
const spdy = () => import("./spdy/index.js");

export interface ConfiguredStreaming {
  server: StreamingServer;
  /** Hands the server the runtime once it exists. */
  bind(runtime: StreamingRuntime): void;
}

export function streamingServerFromConfig(
  config: BerthConfig,
  log: Logger,
  metrics: BerthMetrics,
): ConfiguredStreaming {
  const s = config.streaming;
  let target: StreamingRuntime | undefined;
  const runtime = (): StreamingRuntime => {
    if (!target) throw new UnavailableError("berthd is starting");
    return target;
  };
  const server = new StreamingServer({
    address: config.streaming_address,
    ...(s.tls_cert_file !== ""
      ? {
          tls: {
            certFile: s.tls_cert_file,
            keyFile: s.tls_key_file,
            ...(s.tls_ca_file !== "" ? { caFile: s.tls_ca_file } : {}),
          },
        }
      : {}),
    runtime: {
      exec: (id, cmd, io) => runtime().exec(id, cmd, io),
      attach: (id, io) => runtime().attach(id, io),
      portForward: (id, port, conn, signal) => runtime().portForward(id, port, conn, signal),
    },
    spdy: {
      remoteCommand: async (...a) => (await spdy()).serveSpdyRemoteCommand(...a),
      portForward: async (...a) => (await spdy()).serveSpdyPortForward(...a),
    },
    limits: {
      streamCreationTimeoutMs: s.stream_creation_timeout_seconds * 1000,
      idleTimeoutMs: s.stream_idle_timeout_seconds * 1000,
    },
    maxSessions: s.max_sessions,
    log: log.child({ component: "streaming" }),
    observe: {
      started: (kind) => metrics.streamingSessions.inc({ kind }),
      ended: (kind, result) => {
        metrics.streamingSessions.dec({ kind });
        metrics.streamingSessionsTotal.inc({ kind, result });
      },
    },
  });
  return { server, bind: (r) => (target = r) };
}
