// What the error channel says at the end of an exec or attach session. v4 and later protocols
// carry a metav1.Status as JSON (client-go reads the exit code from its causes); older ones
// carry the failure message as plain text and nothing at all on success. Field order and
// omitted empty fields are those of Go's encoding/json on metav1.Status, as kubelet sends it.
import { writesStatusJson } from "./protocols.js";

export type Outcome =
  { kind: "success" } | { kind: "exit"; code: number } | { kind: "error"; message: string };

interface StatusCause {
  reason?: string;
  message: string;
}

interface Status {
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: { causes: StatusCause[] };
  code?: number;
}

function statusOf(outcome: Outcome): Status {
  switch (outcome.kind) {
    case "success":
      return { metadata: {}, status: "Success" };
    case "exit":
      return {
        metadata: {},
        status: "Failure",
        message: `command terminated with non-zero exit code: ${outcome.code}`,
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: String(outcome.code) }] },
      };
    case "error":
      // apierrors.NewInternalError, as kubelet reports a runtime that failed.
      return {
        metadata: {},
        status: "Failure",
        message: `Internal error occurred: ${outcome.message}`,
        reason: "InternalError",
        details: { causes: [{ message: outcome.message }] },
        code: 500,
      };
  }
}

/** The bytes to write on the error channel for `outcome` under `protocol` (empty: write none). */
export function encodeOutcome(protocol: string, outcome: Outcome): Buffer {
  const status = statusOf(outcome);
  if (writesStatusJson(protocol)) return Buffer.from(JSON.stringify(status));
  if (status.status === "Success") return Buffer.alloc(0);
  return Buffer.from(status.message ?? "");
}
