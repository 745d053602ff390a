// ExecSync's reply must fit in one gRPC message: kubelet (and grpc-js here) refuse one over
// 16 MiB, and the runtime caps each stream at 16 MiB, so two full streams would not fit and the
// call would fail with RESOURCE_EXHAUSTED. The streams are cut to share what fits.
import { MAX_MESSAGE_BYTES } from "./server.js";

/**
 * Room for stdout + stderr: the message limit less the reply's framing (two length-delimited
 * fields and an int32: under 32 bytes; 1 KiB leaves a wide margin).
 */
export const EXEC_SYNC_OUTPUT_BUDGET = MAX_MESSAGE_BYTES - 1024;

export interface FittedOutput {
  stdout: Buffer;
  stderr: Buffer;
  truncated: boolean;
}

/**
 * Cuts stdout and stderr (keeping their beginnings) so together they fit `budget`: each keeps at
 * least half of it when it has that much, and either may use what the other leaves.
 */
export function fitExecOutput(
  stdout: Buffer,
  stderr: Buffer,
  budget = EXEC_SYNC_OUTPUT_BUDGET,
): FittedOutput {
  if (stdout.length + stderr.length <= budget) return { stdout, stderr, truncated: false };
  const half = Math.floor(budget / 2);
  const errKeep = Math.min(stderr.length, Math.max(half, budget - stdout.length));
  const outKeep = Math.min(stdout.length, budget - errKeep);
  return {
    stdout: stdout.subarray(0, outKeep),
    stderr: stderr.subarray(0, errKeep),
    truncated: true,
  };
}

export function execSyncReply(res: { stdout: Buffer; stderr: Buffer; exitCode: number }): {
  stdout: Buffer;
  stderr: Buffer;
  exit_code: number;
  truncated: boolean;
} {
  const fitted = fitExecOutput(res.stdout, res.stderr);
  return {
    stdout: fitted.stdout,
    stderr: fitted.stderr,
    exit_code: res.exitCode,
    truncated: fitted.truncated,
  };
}
