// Exec and attach, whatever the wire: hands the runtime the streams the client asked for, waits
// for the outcome, ends the output streams (so the client sees EOF before the status), and then
// reports the outcome on the error channel in the negotiated protocol's format (as kubelet's
// remotecommand ServeExec/ServeAttach do).
import { finished } from "node:stream";
import type { Writable } from "node:stream";
import { errorMessage } from "../errors.js";
import { terminalSizes } from "./resize.js";
import { encodeOutcome, type Outcome } from "./status.js";
import type {
  RemoteCommandRequest,
  RemoteCommandStreams,
  RunRemoteCommand,
  StreamIO,
  StreamingRuntime,
} from "./types.js";

/** Resolves once `w` has flushed everything (or failed, or the session was aborted). */
function endWritable(w: Writable | undefined, signal: AbortSignal, last?: Buffer): Promise<void> {
  if (!w || w.destroyed || w.writableFinished) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      cleanup();
      resolve();
    };
    // Only the writable side: a transport may hand out Duplex streams whose readable never ends.
    const cleanup = finished(w, { readable: false }, done);
    if (signal.aborted) {
      done();
      return;
    }
    signal.addEventListener("abort", done, { once: true });
    try {
      if (!w.writableEnded) {
        if (last && last.length > 0) w.write(last);
        w.end();
      }
    } catch {
      done();
    }
  });
}

function streamIO(req: RemoteCommandRequest, streams: RemoteCommandStreams): StreamIO {
  return {
    tty: req.tty,
    signal: streams.signal,
    stdin: req.stdin ? streams.stdin : undefined,
    stdout: req.stdout ? streams.stdout : undefined,
    // A tty merges stderr into stdout; kubelet validates the pair away before this point.
    stderr: req.stderr && !req.tty ? streams.stderr : undefined,
    resize: req.tty && streams.resize ? terminalSizes(streams.resize) : undefined,
  };
}

async function outcomeOf(
  runtime: StreamingRuntime,
  req: RemoteCommandRequest,
  io: StreamIO,
): Promise<Outcome> {
  try {
    if (req.kind === "exec") {
      const code = await runtime.exec(req.containerId, req.cmd, io);
      return code === 0 ? { kind: "success" } : { kind: "exit", code };
    }
    await runtime.attach(req.containerId, io);
    return { kind: "success" };
  } catch (err) {
    const what =
      req.kind === "exec" ? "error executing command in container" : "error attaching to container";
    return { kind: "error", message: `${what}: ${errorMessage(err)}` };
  }
}

export interface RunResult {
  outcome: Outcome;
  /** The session's signal had aborted by the time the runtime returned: the client (or a
   *  timeout) cut the command short. */
  interrupted: boolean;
}

/** Runs one session and says how it went (for the server's logs and metrics). Never rejects. */
export async function runRemoteCommand(
  runtime: StreamingRuntime,
  req: RemoteCommandRequest,
  streams: RemoteCommandStreams,
): Promise<RunResult> {
  const outcome = await outcomeOf(runtime, req, streamIO(req, streams));
  const interrupted = streams.signal.aborted;
  try {
    await Promise.all([
      endWritable(streams.stdout, streams.signal),
      endWritable(streams.stderr, streams.signal),
    ]);
    // Nothing more will be read from the client's input; let its transport let go of it.
    streams.resize?.resume();
    await endWritable(streams.error, streams.signal, encodeOutcome(streams.protocol, outcome));
  } catch {
    // The transport's streams are gone; the outcome stands.
  }
  return { outcome, interrupted };
}

/** The RunRemoteCommand a transport calls, bound to the runtime. */
export function createRemoteCommandRunner(runtime: StreamingRuntime): RunRemoteCommand {
  return async (req, streams) => {
    await runRemoteCommand(runtime, req, streams);
  };
}
