// Streaming benchmark (not a test), through the real client, crictl from the conformance kit:
// - `crictl exec` of `true` over SPDY, against ExecSync of the same command (one CRI call) and a
//   bare `runc exec` of the same container, in the same run;
// - port-forward throughput of a 100 MB download through `crictl port-forward` (SPDY), against a
//   direct TCP connection to the same server from inside the pod's network namespace.
//   make build && node dist/bench/streaming.bench.js [rounds]
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { repoRoot } from "../src/repo-root.js";
import { eventually, runPodWith, startPodEnv } from "../test/support/pod-env.js";
import { fmtMs, median, percentile, timed } from "./stats.js";
import { freePort } from "../test/support/free-port.js";

const CRICTL = path.resolve(repoRoot(), "..", "shared", "conformance", "bin", "crictl");
const TRANSFER_BYTES = 100 * 1024 * 1024;
const TRANSFER_ROUNDS = 5;

interface Transfer {
  bytes: number;
  mbps: number;
}

function medianTransfer(runs: Transfer[]): Transfer {
  const sorted = [...runs].sort((a, b) => a.mbps - b.mbps);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function spawnOk(cmd: string, args: string[]): void {
  const res = spawnSync(cmd, args, { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${res.stderr}`);
}

async function samplesOf(rounds: number, fn: () => Promise<unknown> | void): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) out.push((await timed(async () => fn())).ms);
  return out;
}

/** Reads from 127.0.0.1:port until the server closes; MB/s of what arrived. */
function download(port: number): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    const sock = net.connect(port, "127.0.0.1");
    sock.on("data", (b: Buffer) => (bytes += b.length));
    sock.on("error", reject);
    sock.on("close", () => {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      resolve({ bytes, mbps: bytes / 1e6 / s });
    });
  });
}

/** The same download from inside the pod's network namespace, timed by the client itself. */
function directDownload(netns: string, port: number): Transfer {
  const client =
    `const net=require("net");const t0=process.hrtime.bigint();let n=0;` +
    `const s=net.connect(${port},"127.0.0.1");s.on("data",b=>n+=b.length);` +
    `s.on("close",()=>{const t=Number(process.hrtime.bigint()-t0)/1e9;` +
    `console.log(JSON.stringify({bytes:n,mbps:n/1e6/t}))});`;
  const res = spawnSync("nsenter", [`--net=${netns}`, process.execPath, "-e", client], {
    encoding: "utf8",
  });
  if (res.status !== 0) throw new Error(`direct download: ${res.stderr}`);
  return JSON.parse(res.stdout) as Transfer;
}

function line(name: string, samples: number[], baseline?: { name: string; ms: number }): string {
  const med = median(samples);
  const ratio = baseline ? `  (${(med / baseline.ms).toFixed(2)}x ${baseline.name})` : "";
  return `${name.padEnd(34)} median ${fmtMs(med).padStart(10)}  p95 ${fmtMs(percentile(samples, 95)).padStart(10)}${ratio}`;
}

async function main(): Promise<void> {
  if (!existsSync(CRICTL)) {
    console.log(`skipped: no crictl at ${CRICTL} (the conformance kit)`);
    return;
  }
  const rounds = Number(process.argv[2] ?? 30);
  const env = await startPodEnv({ logLevel: "warn" });
  let forwarder: ChildProcess | undefined;
  try {
    const c = env.berthd.client.call;
    const { podId, ctrId } = await runPodWith(env, "bench-stream", [
      "/bin/sh",
      "-c",
      `exec /bin/busybox nc -ll -p 9000 -e /bin/busybox head -c ${TRANSFER_BYTES} /dev/zero`,
    ]);
    const endpoint = `unix://${env.berthd.socket}`;
    const runcRoot = path.join(env.berthd.state, "runtimes", "runc");
    // Warm-up of every path, so page cache and JIT do not land in the first samples.
    await c.ExecSync({ container_id: ctrId, cmd: ["true"], timeout: "10" });
    spawnOk(CRICTL, ["--runtime-endpoint", endpoint, "exec", ctrId, "true"]);

    const runcExec = await samplesOf(rounds, () =>
      spawnOk("runc", ["--root", runcRoot, "exec", ctrId, "true"]),
    );
    const execSync = await samplesOf(rounds, () =>
      c.ExecSync({ container_id: ctrId, cmd: ["true"], timeout: "10" }),
    );
    const crictlExec = await samplesOf(rounds, () =>
      spawnOk(CRICTL, [
        "--runtime-endpoint",
        endpoint,
        "exec",
        "--transport",
        "spdy",
        ctrId,
        "true",
      ]),
    );
    const crictlVersion = await samplesOf(rounds, () =>
      spawnOk(CRICTL, ["--runtime-endpoint", endpoint, "version"]),
    );

    const status = await c.PodSandboxStatus({ pod_sandbox_id: podId, verbose: true });
    const netns = (JSON.parse(status.info.info ?? "{}") as { netnsPath?: string }).netnsPath ?? "";
    const local = await freePort();
    forwarder = spawn(CRICTL, [
      "--runtime-endpoint",
      endpoint,
      "port-forward",
      "--transport",
      "spdy",
      podId,
      `${local}:9000`,
    ]);
    let out = "";
    forwarder.stdout?.on("data", (b: Buffer) => (out += b.toString()));
    await eventually(async () => {
      if (!out.includes("Forwarding from")) throw new Error("port-forward not ready");
    });
    // Alternating, so a busy moment of the machine does not land on one side only.
    const directRuns: Transfer[] = [];
    const tunnelRuns: Transfer[] = [];
    for (let i = 0; i < TRANSFER_ROUNDS; i++) {
      directRuns.push(directDownload(netns, 9000));
      tunnelRuns.push(await download(local));
    }
    const direct = medianTransfer(directRuns);
    const tunnelled = medianTransfer(tunnelRuns);

    const exec = { name: "ExecSync", ms: median(execSync) };
    console.log(`exec of \`true\` (${rounds} rounds; crictl's own start is in its figures)`);
    console.log(line("bare runc exec", runcExec));
    console.log(line("ExecSync (CRI client)", execSync));
    console.log(line("crictl exec --transport spdy", crictlExec, exec));
    console.log(line("crictl version (client start)", crictlVersion));
    console.log(
      `  crictl exec vs bare runc exec: ${(median(crictlExec) / median(runcExec)).toFixed(2)}x; ` +
        `minus crictl's start: ${((median(crictlExec) - median(crictlVersion)) / exec.ms).toFixed(2)}x ExecSync`,
    );
    console.log(
      `port-forward, ${TRANSFER_BYTES / 1024 / 1024} MiB download from the pod, median of ${TRANSFER_ROUNDS} alternating runs`,
    );
    console.log(
      `  direct TCP in the pod netns   ${direct.mbps.toFixed(1)} MB/s (${direct.bytes} B)`,
    );
    console.log(
      `  crictl port-forward (spdy)    ${tunnelled.mbps.toFixed(1)} MB/s (${tunnelled.bytes} B)` +
        `  = ${((100 * tunnelled.mbps) / direct.mbps).toFixed(0)}% of direct`,
    );
  } finally {
    forwarder?.kill("SIGTERM");
    await env.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
