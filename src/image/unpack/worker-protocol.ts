// Messages between a layer unpack on the main thread (worker-unpack.ts) and the worker thread
// that does it (unpack-worker.ts), and how errors cross: as their kind, name and message, made
// back into the same typed errors on the other side so gRPC status codes stay what they were.
import { BerthError, FailedPreconditionError, type ErrorKind, errorMessage } from "../../errors.js";
import type { RunResult } from "../../util/command.js";
import type { Compression } from "./compression.js";
import { UnsafeLayerEntryError } from "./unsafe-entry-error.js";

/** What the worker needs to start: LayerUnpackOptions without the runner and logger. */
export interface WorkerStart {
  mediaType: string;
  target: string;
  privileged: boolean;
  what: string;
}

export interface WireError {
  name: string;
  message: string;
  kind?: ErrorKind;
  entry?: string;
}

export interface WireResult {
  diffId: string;
  compression: Compression;
  size: string;
  inodes: number;
}

/** Main thread to worker; `id` names one layer unpack (the worker runs several at once). */
export type ToWorker =
  | { t: "start"; id: number; start: WorkerStart }
  /** Layer bytes (the first `bytes` of `buf`, transferred); `buf` comes back in an ack. */
  | { t: "data"; id: number; buf: ArrayBuffer; bytes: number }
  | { t: "end"; id: number }
  /** The bytes stopped before their end (a failed download, a cancelled pull). */
  | { t: "abort"; id: number }
  | { t: "finish"; id: number; parents: string[] }
  /** The unpack is over: the worker forgets it. */
  | { t: "release"; id: number }
  | { t: "ran"; id: number; call: number; result: RunResult }
  | { t: "run-failed"; id: number; call: number; error: WireError };

/** Worker to main thread. */
export type FromWorker =
  /** The buffer of a "data" message, transferred back once the unpack has consumed it. */
  | { t: "ack"; id: number; buf: ArrayBuffer }
  /** Every entry written, or the unpack failed (nothing writes any more either way). */
  | { t: "done"; id: number; error?: WireError }
  | { t: "finished"; id: number; result?: WireResult; error?: WireError }
  /** A command (mknod, setfattr) for the main thread's CommandRunner. */
  | { t: "run"; id: number; call: number; file: string; args: string[] }
  | {
      t: "log";
      id: number;
      level: "debug" | "warn";
      obj: Record<string, unknown>;
      msg: string;
    };

export function toWire(err: unknown): WireError {
  const out: WireError = {
    name: err instanceof Error ? err.name : "Error",
    message: errorMessage(err),
  };
  if (err instanceof BerthError) out.kind = err.kind;
  if (err instanceof UnsafeLayerEntryError) out.entry = err.entry;
  return out;
}

/** The error `w` describes, typed as it was; a plain Error that had no kind stays a plain one. */
export function fromWire(w: WireError): Error {
  let err: Error;
  if (w.entry !== undefined) err = new UnsafeLayerEntryError(w.entry, "");
  else if (w.kind === "FAILED_PRECONDITION") err = new FailedPreconditionError(w.message);
  else if (w.kind !== undefined) err = new BerthError(w.kind, w.message);
  else err = new Error(w.message);
  err.message = w.message;
  err.name = w.name;
  return err;
}

/** Log fields made safe to post: errors become their messages. */
export function wireFields(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k] = v instanceof Error ? errorMessage(v) : v;
  }
  return out;
}
