// Pod network benchmark (not a test): what CNI adds to a pod sandbox. 20 rounds through the CRI
// of RunPodSandbox, then StopPodSandbox+RemovePodSandbox, on berth's default bridge network
// (loopback + bridge/host-local + portmap), alternated with 20 rounds of the same pod with
// hostNetwork (no netns, no CNI) as the baseline measured in the same run. Also prints berthd's
// CPU per pod (its own and its plugins', steadier on a loaded host) and the CNI share of the
// time from berth_cni_operation_duration_seconds.
//   make build && node dist/bench/pod-network.bench.js [rounds]
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PodSandboxConfig } from "../src/gen/runtime/v1/PodSandboxConfig.js";
import { Berthd } from "../test/support/berthd.js";
import { deleteLink, podConfig, testNetwork } from "../test/support/pod-env.js";
import { fmtMs, median, percentile, timed } from "./stats.js";

const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";

interface Samples {
  run: number[];
  teardown: number[];
  cpuSeconds: number;
}

/** CPU seconds of a process and of the children it has waited for (plugins, runc, mount). */
async function processCpu(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return ticks / 100;
}

function cniSums(metrics: string): Map<string, { sum: number; count: number }> {
  const out = new Map<string, { sum: number; count: number }>();
  const re = /^berth_cni_operation_duration_seconds_(sum|count)\{operation="(\w+)"\} (\S+)$/gm;
  for (const m of metrics.matchAll(re)) {
    const op = m[2]!;
    const entry = out.get(op) ?? { sum: 0, count: 0 };
    if (m[1] === "sum") entry.sum = Number(m[3]);
    else entry.count = Number(m[3]);
    out.set(op, entry);
  }
  return out;
}

async function onePod(berthd: Berthd, config: PodSandboxConfig, into: Samples): Promise<void> {
  const c = berthd.client.call;
  const pid = berthd.pid ?? 0;
  const cpu0 = await processCpu(pid);
  const run = await timed(() => c.RunPodSandbox({ config }));
  const id = run.value.pod_sandbox_id;
  const down = await timed(async () => {
    await c.StopPodSandbox({ pod_sandbox_id: id });
    await c.RemovePodSandbox({ pod_sandbox_id: id });
  });
  into.cpuSeconds += (await processCpu(pid)) - cpu0;
  into.run.push(run.ms);
  into.teardown.push(down.ms);
}

function line(label: string, xs: number[]): string {
  return `${label.padEnd(34)} median ${fmtMs(median(xs)).padStart(10)}  p95 ${fmtMs(percentile(xs, 95)).padStart(10)}`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("pod-network bench skipped: needs root");
    return;
  }
  const rounds = Number(process.argv[2] ?? 20);
  const net = testNetwork();
  const ipForward = (await fs.readFile(IP_FORWARD, "utf8")).trim();
  const logDir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-bench-podnet-"));
  const berthd = await Berthd.start({
    logLevel: "info",
    configToml: [
      "[cni]",
      `conf_dir = "/nonexistent-berth-bench-cni"`,
      "default_network = true",
      `bridge = "${net.bridge}"`,
      `subnet = "${net.subnet}"`,
    ].join("\n"),
  });
  const env = { logDir };
  const cniPod = (i: number) => podConfig(env, `cni-${i}`);
  const hostPod = (i: number): PodSandboxConfig => {
    const p = podConfig(env, `host-${i}`);
    p.linux = {
      security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" } },
    };
    return p;
  };
  try {
    // Warm-up: the bridge is created by the first ADD, and caches fill.
    const warm: Samples = { run: [], teardown: [], cpuSeconds: 0 };
    for (let i = 0; i < 2; i++) {
      await onePod(berthd, cniPod(-1 - i), warm);
      await onePod(berthd, hostPod(-1 - i), warm);
    }
    const before = cniSums(await berthd.metricsText());
    const cni: Samples = { run: [], teardown: [], cpuSeconds: 0 };
    const host: Samples = { run: [], teardown: [], cpuSeconds: 0 };
    // Alternated, so that load from elsewhere on the host hits both alike.
    for (let i = 0; i < rounds; i++) {
      await onePod(berthd, cniPod(i), cni);
      await onePod(berthd, hostPod(i), host);
    }
    const after = cniSums(await berthd.metricsText());
    const cniMs = (op: string): number => {
      const a = after.get(op);
      const b = before.get(op) ?? { sum: 0, count: 0 };
      return a && a.count > b.count ? ((a.sum - b.sum) / (a.count - b.count)) * 1000 : NaN;
    };

    console.log(`${rounds} rounds each, one pod at a time, alternating, default runtime handler`);
    console.log(line("RunPodSandbox, CNI bridge", cni.run));
    console.log(line("RunPodSandbox, hostNetwork", host.run));
    console.log(line("Stop+RemovePodSandbox, CNI bridge", cni.teardown));
    console.log(line("Stop+RemovePodSandbox, hostNetwork", host.teardown));
    console.log(`CNI setup (loopback + bridge chain) mean ${fmtMs(cniMs("setup"))}`);
    console.log(`CNI teardown mean ${fmtMs(cniMs("teardown"))}`);
    console.log(
      `berthd CPU per pod (own + plugins, runc, mount): CNI ${fmtMs((cni.cpuSeconds / rounds) * 1000)}, ` +
        `hostNetwork ${fmtMs((host.cpuSeconds / rounds) * 1000)}`,
    );
    console.log(
      `ratio CNI / hostNetwork: RunPodSandbox median ${(median(cni.run) / median(host.run)).toFixed(2)}x, ` +
        `Stop+Remove median ${(median(cni.teardown) / median(host.teardown)).toFixed(2)}x`,
    );
  } finally {
    await berthd.cleanup();
    deleteLink(net.bridge);
    await fs.rm(logDir, { recursive: true, force: true });
    await fs.writeFile(IP_FORWARD, ipForward).catch(() => undefined);
    // Nothing else to restore: pods without hostPorts make no portmap chains.
    try {
      execFileSync("ip", ["link", "show", net.bridge], { stdio: "ignore" });
      console.log(`warning: bridge ${net.bridge} still present`);
    } catch {
      // gone, as it should be
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
