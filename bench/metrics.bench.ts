// Metrics benchmark (not a test): 10 host-network pods × 10 `sleep 3600` containers through the
// CRI client, then the latency of a /metrics scrape, ListContainerStats and ListPodSandboxStats,
// with berthd's 1 s sample cache hit (back-to-back calls) and defeated (1.1 s apart). Baselines
// in the same run: the Version RPC round trip, and this process reading the same 100 cgroups
// (all sections with the cgroup reader, and the hot files a sample reads).
//   make build && node dist/bench/metrics.bench.js [pods] [containersPerPod] [calls]
import * as os from "node:os";
import {
  loadCgroupSetup,
  ociCgroupsPathToCgroupPath,
  readCgroupStats,
} from "../src/cgroup/index.js";
import { readHotStats } from "../src/metrics/hot-cgroup-read.js";
import {
  containerConfig,
  podConfig,
  removeAllPods,
  startPodEnv,
  type PodEnv,
} from "../test/support/pod-env.js";
import { fmtMs, median, percentile, timed } from "./stats.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startContainers(env: PodEnv, pods: number, perPod: number): Promise<string[]> {
  const c = env.berthd.client.call;
  const ids = await Promise.all(
    Array.from({ length: pods }, async (_, p) => {
      const pod = podConfig(env, `bench-${p}`, {
        linux: {
          security_context: {
            namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" },
          },
        },
      });
      const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
      const out: string[] = [];
      for (let i = 0; i < perPod; i++) {
        const { container_id: id } = await c.CreateContainer({
          pod_sandbox_id: podId,
          config: containerConfig(env, `c${i}`, ["sleep", "3600"]),
          sandbox_config: pod,
        });
        await c.StartContainer({ container_id: id });
        out.push(id);
      }
      return out;
    }),
  );
  return ids.flat();
}

async function series(label: string, calls: number, gapMs: number, fn: () => Promise<unknown>) {
  const samples: number[] = [];
  await fn(); // warm up
  for (let i = 0; i < calls; i++) {
    if (gapMs > 0) await sleep(gapMs);
    samples.push((await timed(fn)).ms);
  }
  const p50 = median(samples);
  const p95 = percentile(samples, 95);
  console.log(
    `${label.padEnd(46)} median ${fmtMs(p50).padStart(9)}  p95 ${fmtMs(p95).padStart(9)}`,
  );
  return { p50, p95 };
}

async function main(): Promise<void> {
  const pods = Number(process.argv[2] ?? 10);
  const perPod = Number(process.argv[3] ?? 10);
  const calls = Number(process.argv[4] ?? 20);
  const env = await startPodEnv();
  try {
    const t0 = Date.now();
    const ids = await startContainers(env, pods, perPod);
    console.log(`${ids.length} containers in ${pods} pods running after ${Date.now() - t0} ms`);
    const c = env.berthd.client.call;
    const listed = await c.ListContainers({});
    const setup = await loadCgroupSetup();
    const cgroups = listed.containers.map((ctr) =>
      ociCgroupsPathToCgroupPath(`/berth/${ctr.pod_sandbox_id}/${ctr.id}`, "cgroupfs"),
    );
    // Let the first samples' slow-tier reads and layer measurements settle.
    await env.berthd.metricsText();
    await sleep(2000);

    console.log("baselines:");
    await series("  Version RPC", calls, 0, () => c.Version({}));
    await series(`  read ${cgroups.length} cgroups, all sections (in-process)`, calls, 0, () =>
      Promise.all(cgroups.map((p) => readCgroupStats(setup, p))),
    );
    await series(`  read ${cgroups.length} cgroups, hot files (in-process)`, calls, 0, () =>
      Promise.all(cgroups.map((p) => readHotStats(setup, p))),
    );
    console.log("sample cache hit (calls back to back):");
    await series("  GET /metrics", calls, 0, () => env.berthd.metricsText());
    await series("  ListContainerStats", calls, 0, () => c.ListContainerStats({}));
    await series("  ListPodSandboxStats", calls, 0, () => c.ListPodSandboxStats({}));
    console.log("sample cache defeated (calls 1.1 s apart, each takes a new sample):");
    const text = await env.berthd.metricsText();
    await series("  GET /metrics", calls, 1100, () => env.berthd.metricsText());
    await series("  ListContainerStats", calls, 1100, () => c.ListContainerStats({}));
    await series("  ListPodSandboxStats", calls, 1100, () => c.ListPodSandboxStats({}));
    const lines = text.split("\n").filter((l) => l.startsWith("container_")).length;
    console.log(`/metrics: ${text.length} bytes, ${lines} container_* series`);
    console.log(
      `load average during the run: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
  } finally {
    await removeAllPods(env.berthd);
    await env.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
