// The one place that turns errors into gRPC status codes. Handlers throw typed errors
// (src/errors.ts); anything else is INTERNAL.
import { status as GrpcStatus, type StatusObject, Metadata } from "@grpc/grpc-js";
import { BerthError, errorMessage } from "../errors.js";

export function toGrpcStatus(err: unknown): StatusObject {
  const code = err instanceof BerthError ? GrpcStatus[err.kind] : GrpcStatus.INTERNAL;
  return { code, details: errorMessage(err), metadata: new Metadata() };
}

export function statusName(code: number): string {
  return GrpcStatus[code] ?? String(code);
}
