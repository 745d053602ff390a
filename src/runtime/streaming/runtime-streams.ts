// The runtime side of streaming for berth's containers: exec (pipes or a pty), attach through
// conmon, and port-forward into a pod's network namespace. The RPC handlers check the state
// before they hand out a token; the checks here catch what changed since (a container that
// exited or was removed, a pod that was stopped).
import * as path from "node:path";
import type { Duplex } from "node:stream";
import type { StreamIO, StreamingRuntime } from "../../streaming/types.js";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../errors.js";
import { quote } from "../../validate/text.js";
import type { Logger } from "../../log.js";
import { buildExecProcess } from "../oci/exec-process.js";
import { readBundleProcess, type OciRuntime } from "../oci/oci-runtime.js";
import {
  containerState,
  sandboxStopped,
  type ContainerRecord,
  type SandboxRecord,
} from "../records.js";
import { runAttach } from "./attach-session.js";
import { writeExecFiles } from "./exec-files.js";
import { runPipedExec } from "./exec-session.js";
import { forwardPort } from "./port-forward.js";
import { runTtyExec, takeSizes } from "./tty-exec.js";

export interface RuntimeStreamsDeps {
  /** Container records by full id (RecordStore.get). */
  containers: { get(id: string): ContainerRecord | undefined };
  /** Sandbox records by full id (RecordStore.get). */
  sandboxes: { get(id: string): SandboxRecord | undefined };
  /** The OCI runtime of a handler name (RuntimeContext.ociRuntime). */
  ociRuntime(handlerName: string): OciRuntime;
  /** Where containers' bundles and conmon's attach sockets are, and a dir for exec files. */
  paths: {
    containerBundle(id: string): string;
    readonly socketDir: string;
    readonly tmp: string;
  };
  log: Logger;
  /** Programs that reach into a pod's network namespace (defaults: from PATH). */
  nsenterPath?: string;
  socatPath?: string;
}

export class RuntimeStreams implements StreamingRuntime {
  private readonly nsenterPath: string;
  private readonly socatPath: string;

  constructor(private readonly deps: RuntimeStreamsDeps) {
    this.nsenterPath = deps.nsenterPath ?? "nsenter";
    this.socatPath = deps.socatPath ?? "socat";
  }

  private runningContainer(id: string): ContainerRecord {
    const rec = this.deps.containers.get(id);
    if (!rec) throw new NotFoundError(`container ${quote(id)} not found`);
    const state = containerState(rec);
    if (state !== "CONTAINER_RUNNING") {
      throw new FailedPreconditionError(`container ${id} is ${state}, not CONTAINER_RUNNING`);
    }
    return rec;
  }

  async exec(containerId: string, cmd: string[], io: StreamIO): Promise<number> {
    const rec = this.runningContainer(containerId);
    const runtime = this.deps.ociRuntime(rec.runtimeHandler);
    const base = await readBundleProcess(this.deps.paths.containerBundle(rec.id));
    const proc = buildExecProcess(base, { args: cmd });
    const sizes = io.tty ? await takeSizes(io.resize) : undefined;
    if (sizes) {
      proc.terminal = true;
      proc.consoleSize = { height: sizes.initial.height, width: sizes.initial.width };
    }
    const log = this.deps.log.child({ container_id: rec.id });
    const files = await writeExecFiles(this.deps.paths.tmp, proc);
    try {
      const launch = {
        file: runtime.handler.path,
        args: runtime.execArgs(files.processFile, files.pidFile, rec.id),
        pidFile: files.pidFile,
      };
      log.debug({ cmd, tty: io.tty }, "streaming exec");
      runtime.prepareExec();
      const code = sizes ? await runTtyExec(launch, io, sizes) : await runPipedExec(launch, io);
      log.debug({ cmd, exitCode: code, aborted: io.signal.aborted }, "streaming exec ended");
      return code;
    } finally {
      sizes?.stop();
      await files.remove();
    }
  }

  async attach(containerId: string, io: StreamIO): Promise<void> {
    const rec = this.runningContainer(containerId);
    const cfg = rec.config;
    await runAttach(
      {
        containerId: rec.id,
        socketPath: path.join(this.deps.paths.socketDir, rec.id, "attach"),
        ctlPath: path.join(this.deps.paths.containerBundle(rec.id), "ctl"),
        tty: cfg.tty,
        detachOnStdinEnd: cfg.stdin && !cfg.stdin_once && !cfg.tty,
      },
      io,
    );
  }

  async portForward(
    podSandboxId: string,
    port: number,
    conn: Duplex,
    signal: AbortSignal,
  ): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidArgumentError("port", `must be 1-65535, not ${port}`);
    }
    const sb = this.deps.sandboxes.get(podSandboxId);
    if (!sb) throw new NotFoundError(`pod sandbox ${quote(podSandboxId)} not found`);
    if (sandboxStopped(sb)) {
      throw new FailedPreconditionError(`pod sandbox ${podSandboxId} is not ready`);
    }
    if (!sb.hostNetwork && sb.netnsPath === "") {
      throw new FailedPreconditionError(`pod sandbox ${podSandboxId} has no network namespace`);
    }
    await forwardPort(
      {
        podSandboxId,
        port,
        netnsPath: sb.hostNetwork ? undefined : sb.netnsPath,
        nsenterPath: this.nsenterPath,
        socatPath: this.socatPath,
        socketDir: this.deps.paths.tmp,
      },
      conn,
      signal,
    );
  }
}
