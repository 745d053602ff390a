// Port-forward benchmark (not a test): 100 MiB through RuntimeStreams.portForward (nsenter +
// socat into the pod's netns, piped through Node) against a direct TCP connection to the same
// server from inside the same netns (socat reading into /dev/null there), in both directions:
// download (the server sends) and upload (the server swallows). Median of 5 runs each. For
// scale, also a host-network pod's forward (a plain Node socket, no socat) against the same
// direct client on the host: what Node's own stream handling costs.
//   make build && node dist/bench/port-forward.bench.js   (as root)
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Duplex, PassThrough, Writable } from "node:stream";
import { type PodEnv, eventually, podConfig, startPodEnv } from "../test/support/pod-env.js";
import { runContainer, runtimeStreams } from "../test/integration/streaming-runtime/helpers.js";
import { median, timed } from "./stats.js";

const MIB = 1024 * 1024;
const SIZE = 100 * MIB;
const RUNS = 5;
const SOURCE_PORT = 9000;
const SINK_PORT = 9001;
const HOST_PORT = 39_000 + Math.floor(Math.random() * 1000);
const HOST_NETNS = `/proc/${process.pid}/ns/net`;

/** Counts what arrives and throws it away. */
class Counter extends Writable {
  bytes = 0;
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.bytes += chunk.length;
    cb();
  }
}

/** 100 MiB of zeros in 64 KiB chunks, with backpressure. */
function zeros(into: PassThrough): void {
  const chunk = Buffer.alloc(64 * 1024);
  let left = SIZE / chunk.length;
  const pump = (): void => {
    while (left > 0) {
      left--;
      if (!into.write(chunk)) return void into.once("drain", pump);
    }
    into.end();
  };
  pump();
}

function runDirect(netns: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=${netns}`, "socat", "-b", "131072", ...args], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`socat ${code}`))));
  });
}

function mbps(ms: number): string {
  return `${(SIZE / MIB / (ms / 1000)).toFixed(0)} MiB/s`;
}

async function main(): Promise<void> {
  const env: PodEnv = await startPodEnv();
  let hostServer: ChildProcess | undefined;
  try {
    const { streams, paths } = runtimeStreams(env);
    await runContainer(
      env,
      "pfbench",
      [
        "sh",
        "-c",
        `nc -ll -p ${SOURCE_PORT} -e dd if=/dev/zero bs=65536 count=${SIZE / 65536} & ` +
          `nc -ll -p ${SINK_PORT} -e dd of=/dev/null bs=65536 & wait`,
      ],
      "",
    );
    const podId = (await env.berthd.client.call.ListPodSandbox({})).items[0]!.id;
    const sandbox = JSON.parse(
      readFileSync(path.join(paths.sandboxRecords, `${podId}.json`), "utf8"),
    ) as { netnsPath: string };
    const netns = sandbox.netnsPath;

    // The same source server on the host's loopback, for a host-network pod.
    hostServer = spawn(
      "busybox",
      [
        "nc",
        "-ll",
        "-p",
        String(HOST_PORT),
        "-e",
        "dd",
        "if=/dev/zero",
        "bs=65536",
        `count=${SIZE / 65536}`,
      ],
      { stdio: "ignore" },
    );
    const { pod_sandbox_id: hostPod } = await env.berthd.client.call.RunPodSandbox({
      config: podConfig(env, "pfbench-host", {
        linux: {
          security_context: {
            namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" },
          },
        },
      }),
    });

    const download = async (pod = podId, port = SOURCE_PORT): Promise<number> => {
      const counter = new Counter();
      // The client sends nothing: it ends its side at once (the server never reads).
      const conn = Duplex.from({ readable: new PassThrough().end(), writable: counter });
      const { ms } = await timed(() =>
        streams.portForward(pod, port, conn, AbortSignal.timeout(120_000)),
      );
      if (counter.bytes !== SIZE) throw new Error(`download got ${counter.bytes} bytes`);
      return ms;
    };
    const upload = async (): Promise<number> => {
      const send = new PassThrough();
      const conn = Duplex.from({ readable: send, writable: new Counter() });
      zeros(send);
      const { ms } = await timed(() =>
        streams.portForward(podId, SINK_PORT, conn, AbortSignal.timeout(120_000)),
      );
      return ms;
    };
    await eventually(async () => {
      await download();
      await download(hostPod, HOST_PORT);
    });

    const rows: [string, number[], number[]][] = [
      ["download (server → client)", [], []],
      ["upload (client → server)", [], []],
      ["download, host-network pod (Node socket, no socat)", [], []],
    ];
    for (let i = 0; i < RUNS; i++) {
      rows[0]![1].push(await download());
      rows[0]![2].push(
        (
          await timed(() =>
            runDirect(netns, ["-u", `TCP4:127.0.0.1:${SOURCE_PORT}`, "OPEN:/dev/null"]),
          )
        ).ms,
      );
      rows[1]![1].push(await upload());
      rows[1]![2].push(
        (
          await timed(() =>
            runDirect(netns, [
              "-u",
              `OPEN:/dev/zero,readbytes=${SIZE}`,
              `TCP4:127.0.0.1:${SINK_PORT}`,
            ]),
          )
        ).ms,
      );
      rows[2]![1].push(await download(hostPod, HOST_PORT));
      rows[2]![2].push(
        (
          await timed(() =>
            runDirect(HOST_NETNS, ["-u", `TCP4:127.0.0.1:${HOST_PORT}`, "OPEN:/dev/null"]),
          )
        ).ms,
      );
    }
    console.log(`port-forward, ${SIZE / MIB} MiB, median of ${RUNS}:`);
    for (const [name, forward, direct] of rows) {
      const f = median(forward);
      const d = median(direct);
      console.log(
        `  ${name}: forward ${mbps(f)} (${f.toFixed(0)} ms), direct ${mbps(d)} ` +
          `(${d.toFixed(0)} ms): ${((d / f) * 100).toFixed(0)}% of direct`,
      );
    }
  } finally {
    hostServer?.kill();
    await env.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
