// The one wrapper every RPC passes through (as containerd's instrumented service): it answers
// UNAVAILABLE until startup recovery is done, gives the handler a logger bound to the RPC and
// the ids in the request, times the call into berth_rpc_duration_seconds, and turns thrown
// errors into gRPC status. Handlers never pick status codes.
import { once } from "node:events";
import * as grpc from "@grpc/grpc-js";
import {
  InternalError,
  ResourceExhaustedError,
  UnavailableError,
  errorMessage,
} from "../errors.js";
import type { Logger } from "../log.js";
import type { BerthMetrics } from "../metrics/berth-metrics.js";
import { statusName, toGrpcStatus } from "./status.js";

export interface CallContext {
  log: Logger;
  /** Aborted when the client cancels or the deadline passes. */
  signal: AbortSignal;
}

export type UnaryImpl<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;
export type StreamImpl<Req, Res> = (req: Req, ctx: CallContext) => AsyncIterable<Res>;

export interface InstrumentDeps {
  log: Logger;
  metrics: BerthMetrics;
  /** False until recovery has finished; calls are refused with UNAVAILABLE until then. */
  isReady: () => boolean;
}

const ID_FIELDS = ["pod_sandbox_id", "container_id"] as const;

/** Ids worth binding to the call's logger, read from the request. */
function requestIds(req: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof req !== "object" || req === null) return out;
  for (const f of ID_FIELDS) {
    const v = (req as Record<string, unknown>)[f];
    // Bounded: a client may send a megabyte as an id, and every log line of the call has it.
    if (typeof v === "string" && v !== "") out[f] = v.length > 64 ? `${v.slice(0, 64)}…` : v;
  }
  return out;
}

function callSignal(call: {
  once(event: "cancelled", listener: () => void): unknown;
}): AbortSignal {
  const ac = new AbortController();
  call.once("cancelled", () => ac.abort(new Error("call cancelled")));
  return ac.signal;
}

class Timer {
  private readonly start = process.hrtime.bigint();
  seconds(): number {
    return Number(process.hrtime.bigint() - this.start) / 1e9;
  }
}

function record(
  deps: InstrumentDeps,
  labels: { service: string; method: string },
  code: number,
  seconds: number,
): void {
  const l = { ...labels, code: statusName(code) };
  deps.metrics.rpcDuration.observe(l, seconds);
  if (code !== grpc.status.OK) deps.metrics.rpcErrors.inc(l);
}

function logFailure(log: Logger, code: number, details: string, seconds: number): void {
  const fields = { code: statusName(code), err: details, seconds };
  if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN)
    log.error(fields, "call failed");
  else log.info(fields, "call failed");
}

/**
 * Encodes a reply before grpc-js sends it, so a reply grpc-js would refuse (over the message
 * limit, or not serializable) fails here, as an error this wrapper logs and counts, rather than
 * inside grpc-js after the call was counted as OK. The server's definitions pass the resulting
 * Buffer through unchanged (see server.ts), so each reply is serialized once.
 */
export interface ReplyEncoder<Res> {
  serialize: (value: Res) => Buffer;
  maxBytes: number;
}

function encodeReply<Res>(encoder: ReplyEncoder<Res>, res: Res): Buffer {
  let buf: Buffer;
  try {
    buf = encoder.serialize(res);
  } catch (err) {
    throw new InternalError(`cannot serialize the reply: ${errorMessage(err)}`);
  }
  if (buf.length > encoder.maxBytes) {
    throw new ResourceExhaustedError(
      `reply of ${buf.length} bytes is larger than the ${encoder.maxBytes}-byte message limit`,
    );
  }
  return buf;
}

export function instrumentUnary<Req, Res>(
  deps: InstrumentDeps,
  service: string,
  method: string,
  impl: UnaryImpl<Req, Res>,
  encoder?: ReplyEncoder<Res>,
): grpc.handleUnaryCall<Req, Res> {
  const labels = { service, method };
  return (call, callback) => {
    const timer = new Timer();
    const log = deps.log.child({ rpc: method, ...requestIds(call.request) });
    const run = deps.isReady()
      ? impl(call.request, { log, signal: callSignal(call) }).then((res): Res | Buffer =>
          encoder !== undefined ? encodeReply(encoder, res) : res,
        )
      : Promise.reject(new UnavailableError("berthd is starting: state recovery is not done yet"));
    run.then(
      (res) => {
        const s = timer.seconds();
        record(deps, labels, grpc.status.OK, s);
        log.debug({ seconds: s }, "call done");
        // A Buffer is the reply already encoded; the definition's serializer passes it through.
        callback(null, res as Res);
      },
      (err: unknown) => {
        const st = toGrpcStatus(err);
        const s = timer.seconds();
        record(deps, labels, st.code, s);
        logFailure(log, st.code, st.details, s);
        callback(st);
      },
    );
  };
}

export function instrumentStream<Req, Res>(
  deps: InstrumentDeps,
  service: string,
  method: string,
  impl: StreamImpl<Req, Res>,
): grpc.handleServerStreamingCall<Req, Res> {
  const labels = { service, method };
  return (call) => {
    const timer = new Timer();
    const log = deps.log.child({ rpc: method, ...requestIds(call.request) });
    const signal = callSignal(call);
    const pump = async (): Promise<void> => {
      if (!deps.isReady())
        throw new UnavailableError("berthd is starting: state recovery is not done yet");
      for await (const msg of impl(call.request, { log, signal })) {
        if (signal.aborted) return;
        if (!call.write(msg)) await once(call, "drain", { signal });
      }
    };
    pump().then(
      () => {
        record(deps, labels, grpc.status.OK, timer.seconds());
        if (!signal.aborted) call.end();
      },
      (err: unknown) => {
        const st = toGrpcStatus(err);
        record(deps, labels, signal.aborted ? grpc.status.CANCELLED : st.code, timer.seconds());
        if (signal.aborted) return;
        logFailure(log, st.code, st.details, timer.seconds());
        call.emit("error", st);
      },
    );
  };
}
