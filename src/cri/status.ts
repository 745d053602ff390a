// The one place that turns errors into gRPC status codes. Handlers throw typed errors
// (src/errors.ts); anything else is INTERNAL.
import { status as GrpcStatus, type StatusObject, Metadata } from "@grpc/grpc-js";
import { BerthError, errorMessage } from "../errors.js";
import { clip } from "../validate/text.js";

/**
 * The longest status message a client reads back (and berthd logs): messages may embed client
 * values or paths made from them, and a client must not be able to make berth echo a megabyte.
 */
export const MAX_DETAILS_CHARS = 1024;

export function toGrpcStatus(err: unknown): StatusObject {
  const code = err instanceof BerthError ? GrpcStatus[err.kind] : GrpcStatus.INTERNAL;
  return { code, details: clip(errorMessage(err), MAX_DETAILS_CHARS), metadata: new Metadata() };
}

export function statusName(code: number): string {
  return GrpcStatus[code] ?? String(code);
}
