// Typed errors thrown by handlers and the layers below them. Exactly one place (cri/status.ts)
// turns them into gRPC status codes; nothing else picks codes.

export type ErrorKind =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "UNIMPLEMENTED"
  | "UNAVAILABLE"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "DEADLINE_EXCEEDED"
  | "RESOURCE_EXHAUSTED"
  | "INTERNAL";

export class BerthError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends BerthError {
  /** `field` is the request field at fault, named as in the proto (e.g. `config.metadata.name`). */
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super("INVALID_ARGUMENT", `${field}: ${reason}`);
  }
}

export class NotFoundError extends BerthError {
  constructor(message: string) {
    super("NOT_FOUND", message);
  }
}

export class AlreadyExistsError extends BerthError {
  constructor(message: string) {
    super("ALREADY_EXISTS", message);
  }
}

export class FailedPreconditionError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("FAILED_PRECONDITION", message, options);
  }
}

export class UnimplementedError extends BerthError {
  constructor(message: string) {
    super("UNIMPLEMENTED", message);
  }
}

export class UnavailableError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("UNAVAILABLE", message, options);
  }
}

export class UnauthenticatedError extends BerthError {
  constructor(message: string) {
    super("UNAUTHENTICATED", message);
  }
}

export class PermissionDeniedError extends BerthError {
  constructor(message: string) {
    super("PERMISSION_DENIED", message);
  }
}

export class DeadlineExceededError extends BerthError {
  constructor(message: string) {
    super("DEADLINE_EXCEEDED", message);
  }
}

export class ResourceExhaustedError extends BerthError {
  constructor(message: string) {
    super("RESOURCE_EXHAUSTED", message);
  }
}

export class InternalError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INTERNAL", message, options);
  }
}

/** The message of any caught value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** True when `err` is a Node system error with the given code (ENOENT, EEXIST, ...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === code;
}
