// Where the lifecycle RPCs spend their time, from berth_operation_step_seconds: N rounds of
// RunPodSandbox, CreateContainer, StartContainer, StopPodSandbox, RemovePodSandbox through the
// CRI client (runc + conmon + CNI bridge), /metrics read after each call; each call adds one
// observation per step, so the growth of a step's _sum is that call's time in the step.
// STEPS_CNI=bench uses the head-to-head's network shape (bridge + host-local + portmap, no
// masquerade) instead of berth's default network (which masquerades: several iptables calls).
//   make build && node dist/bench/steps.bench.js [rounds]
import { spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { containerConfig, podConfig, startPodEnv, testNetwork } from "../test/support/pod-env.js";
import { benchConflist } from "./vs-containerd/configs.js";
import { fmtMs, median } from "./stats.js";
import { stepTotals } from "./step-sums.js";

type Sums = Map<string, number>;

async function stepSums(port: number): Promise<Sums> {
  return new Map([...(await stepTotals(port))].map(([k, t]) => [k, t.sum]));
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 10);
  let cniConfDir: string | undefined;
  let bridge: string | undefined;
  if (process.env["STEPS_CNI"] === "bench") {
    cniConfDir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-steps-cni-"));
    const net = testNetwork();
    bridge = net.bridge;
    const conf = { name: "steps", ...net, ipamDataDir: path.join(cniConfDir, "ipam") };
    await fs.writeFile(path.join(cniConfDir, "10-steps.conflist"), benchConflist(conf));
  }
  const env = await startPodEnv({ logLevel: "info", ...(cniConfDir ? { cniConfDir } : {}) });
  const samples = new Map<string, number[]>();
  const port = env.berthd.metricsPort ?? 0;
  let before: Sums = new Map();
  const after = async (call: string, ms: number) => {
    const now = await stepSums(port);
    const add = (k: string, v: number) => samples.set(k, [...(samples.get(k) ?? []), v]);
    add(`${call} (RPC)`, ms / 1000);
    for (const [k, v] of now) {
      // Steps of other operations inside this call (the stop in a remove) are shown under it.
      const d = v - (before.get(k) ?? 0);
      if (d > 0) add(k.startsWith(call) ? k : `${call} > ${k}`, d);
    }
    before = now;
  };
  const timedCall = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = process.hrtime.bigint();
    const v = await fn();
    await after(name, Number(process.hrtime.bigint() - t0) / 1e6);
    return v;
  };
  try {
    if (port === 0) throw new Error("berthd serves no /metrics");
    before = await stepSums(port);
    const c = env.berthd.client.call;
    for (let i = 0; i < rounds; i++) {
      const pod = podConfig(env, `steps-${i}`);
      const { pod_sandbox_id } = await timedCall("RunPodSandbox", () =>
        c.RunPodSandbox({ config: pod }),
      );
      const { container_id } = await timedCall("CreateContainer", () =>
        c.CreateContainer({
          pod_sandbox_id,
          config: containerConfig(env, "app", ["/bin/sleep", "3600"]),
          sandbox_config: pod,
        }),
      );
      await timedCall("StartContainer", () => c.StartContainer({ container_id }));
      await timedCall("StopPodSandbox", () => c.StopPodSandbox({ pod_sandbox_id }));
      await timedCall("RemovePodSandbox", () => c.RemovePodSandbox({ pod_sandbox_id }));
    }
  } finally {
    await env.cleanup();
    if (cniConfDir !== undefined) await fs.rm(cniConfDir, { recursive: true, force: true });
    if (bridge !== undefined) spawnSync("ip", ["link", "del", bridge], { stdio: "ignore" });
  }
  console.log(`rounds: ${rounds}; median per step (runc + conmon + CNI bridge, busybox, 2 cores)`);
  for (const [k, v] of [...samples].sort((a, b) => a[0].localeCompare(b[0]))) {
    console.log(`${k.padEnd(52)} ${fmtMs(median(v) * 1000).padStart(10)}  (n=${v.length})`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
