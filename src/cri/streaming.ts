// Exec, Attach, PortForward: each validates its request, checks that the container runs (or the
// pod is ready), and answers with a single-use URL on berth's streaming server, where kubelet or
// crictl then upgrades to SPDY or WebSocket. Nothing runs until the client connects.
import { FailedPreconditionError, InvalidArgumentError } from "../errors.js";
import { containerState } from "../runtime/records.js";
import type { StreamRequest } from "../streaming/types.js";
import { checkArgv } from "../validate/container-config.js";
import type { CriHandlers } from "./handlers.js";
import type { PodDeps } from "./pod-sandboxes.js";

/** What the handlers need of the streaming server. */
export interface StreamUrls {
  /** An absolute URL for a validated request (throws when too many are pending). */
  url(req: StreamRequest): string;
}

interface Stdio {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** kubelet's rules: some stream is asked for, and a tty merges stderr into stdout. */
function checkStdio(req: Stdio): void {
  if (!req.stdin && !req.stdout && !req.stderr) {
    throw new InvalidArgumentError("stdin", "one of stdin, stdout or stderr must be set");
  }
  if (req.tty && req.stderr) {
    throw new InvalidArgumentError("stderr", "tty and stderr cannot both be true");
  }
}

function checkPorts(ports: readonly number[]): number[] {
  for (const [i, p] of ports.entries()) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      throw new InvalidArgumentError(`port[${i}]`, `${p} is not a TCP port (1-65535)`);
    }
  }
  return [...ports];
}

export function streamingHandlers(deps: PodDeps, urls: StreamUrls): CriHandlers {
  const { ctx, sandboxes } = deps;

  /** The running container of an id or prefix, with its pod ready. */
  const runningContainer = (idOrPrefix: string) => {
    if (idOrPrefix === "") throw new InvalidArgumentError("container_id", "must not be empty");
    const rec = ctx.containers.resolve(idOrPrefix);
    const state = containerState(rec);
    if (state !== "CONTAINER_RUNNING") {
      throw new FailedPreconditionError(`container ${rec.id} is ${state}, not CONTAINER_RUNNING`);
    }
    return rec;
  };

  return {
    Exec: async (req) => {
      if (req.cmd.length === 0 || req.cmd[0] === "") {
        throw new InvalidArgumentError("cmd", "must name a command");
      }
      checkArgv("cmd", req.cmd);
      checkStdio(req);
      const rec = runningContainer(req.container_id);
      const url = urls.url({
        kind: "exec",
        containerId: rec.id,
        cmd: [...req.cmd],
        tty: req.tty,
        stdin: req.stdin,
        stdout: req.stdout,
        stderr: req.stderr,
      });
      return { url };
    },

    Attach: async (req) => {
      checkStdio(req);
      const rec = runningContainer(req.container_id);
      const url = urls.url({
        kind: "attach",
        containerId: rec.id,
        tty: req.tty,
        stdin: req.stdin,
        stdout: req.stdout,
        stderr: req.stderr,
      });
      return { url };
    },

    PortForward: async (req) => {
      if (req.pod_sandbox_id === "") {
        throw new InvalidArgumentError("pod_sandbox_id", "must not be empty");
      }
      const ports = checkPorts(req.port);
      const rec = ctx.sandboxes.resolve(req.pod_sandbox_id);
      if (!sandboxes.isReady(rec)) {
        throw new FailedPreconditionError(`pod sandbox ${rec.id} is not ready`);
      }
      return { url: urls.url({ kind: "portforward", podSandboxId: rec.id, ports }) };
    },
  };
}
