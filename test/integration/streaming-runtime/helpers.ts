// A RuntimeStreams over a test berthd's own records and runtime roots (read from its files, as
// the daemon's stores hold them), plus streams that collect output, a resize queue, and a look
// at what processes this test process has left behind.
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { silentLogger } from "../../../src/log.js";
import { OciRuntime } from "../../../src/runtime/oci/oci-runtime.js";
import { RuntimePaths } from "../../../src/runtime/paths.js";
import { containerCodec, sandboxCodec } from "../../../src/runtime/record-codecs.js";
import type { RecordCodec } from "../../../src/store/record-store.js";
import { RuntimeStreams } from "../../../src/runtime/streaming/runtime-streams.js";
import type { StreamIO } from "../../../src/streaming/types.js";
import { ProcessRunner } from "../../../src/util/command.js";
import type { ContainerConfig } from "../../../src/gen/runtime/v1/ContainerConfig.js";
import type { PodSandboxConfig } from "../../../src/gen/runtime/v1/PodSandboxConfig.js";
import { containerConfig, podConfig, type PodEnv } from "../../support/pod-env.js";
import { Sink, SizeQueue } from "../../support/stream-fakes.js";

export { Sink, SizeQueue };

const RUNTIME_PATHS: Record<string, string> = { crun: "/usr/bin/crun", runc: "/usr/sbin/runc" };

function readRecord<T>(dir: string, id: string, codec: RecordCodec<T>): T | undefined {
  try {
    return codec.decode(JSON.parse(readFileSync(path.join(dir, `${id}.json`), "utf8")));
  } catch {
    return undefined;
  }
}

export function runtimeStreams(env: PodEnv): { streams: RuntimeStreams; paths: RuntimePaths } {
  const paths = new RuntimePaths(env.berthd.root, env.berthd.state);
  const runner = new ProcessRunner();
  const streams = new RuntimeStreams({
    containers: { get: (id) => readRecord(paths.containerRecords, id, containerCodec) },
    sandboxes: { get: (id) => readRecord(paths.sandboxRecords, id, sandboxCodec) },
    ociRuntime: (name) => {
      const file = RUNTIME_PATHS[name];
      if (!file) throw new Error(`unknown handler ${name}`);
      return new OciRuntime(
        { name, path: file, root: path.join(paths.runtimeRoots, name) },
        runner,
        { tmpDir: paths.tmp },
      );
    },
    paths,
    log: silentLogger(),
  });
  return { streams, paths };
}

export interface Session {
  io: StreamIO;
  stdin: PassThrough;
  stdout: Sink;
  stderr: Sink;
  sizes: SizeQueue;
  abort: AbortController;
}

/** Streams for one exec or attach; without `stdin`/`stderr` those are left out of `io`. */
export function session(opts: { tty?: boolean; stdin?: boolean; stderr?: boolean } = {}): Session {
  const stdin = new PassThrough();
  const stdout = new Sink();
  const stderr = new Sink();
  const sizes = new SizeQueue();
  const abort = new AbortController();
  const tty = opts.tty ?? false;
  const io: StreamIO = {
    tty,
    stdout,
    signal: abort.signal,
    ...(opts.stdin ? { stdin } : {}),
    ...(!tty && opts.stderr !== false ? { stderr } : {}),
    ...(tty ? { resize: sizes } : {}),
  };
  return { io, stdin, stdout, stderr, sizes, abort };
}

/** Pids and command names of this process's children (what a session might leave behind). */
export function childProcesses(): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      if (ppid === process.pid) out.push({ pid: Number(name), comm });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Runs a pod on `handler` with one started container; returns the container's id. */
export async function runContainer(
  env: PodEnv,
  name: string,
  command: string[],
  handler: string,
  ctrExtra: Partial<ContainerConfig> = {},
  podExtra: Partial<PodSandboxConfig> = {},
): Promise<string> {
  const c = env.berthd.client.call;
  const pod = podConfig(env, name, podExtra);
  const { pod_sandbox_id: podId } = await c.RunPodSandbox({
    config: pod,
    runtime_handler: handler,
  });
  const { container_id: ctrId } = await c.CreateContainer({
    pod_sandbox_id: podId,
    config: containerConfig(env, name, command, ctrExtra),
    sandbox_config: pod,
  });
  await c.StartContainer({ container_id: ctrId });
  return ctrId;
}
