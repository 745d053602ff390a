// Lifecycle benchmark (not a test): 30 rounds through the CRI client of RunPodSandbox,
// CreateContainer+StartContainer, StopPodSandbox+RemovePodSandbox on runc + conmon + CNI.
// Baseline in the same run: a bare `runc run` of the same busybox rootfs (no berth, no conmon,
// no CNI) and the Version RPC round trip, so figures read as ratios on this machine.
//   make build && node dist/bench/lifecycle.bench.js [rounds]
import { execFileSync, spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { removeCgroupPath } from "../src/cgroup/remove.js";
import { containerConfig, podConfig, startPodEnv } from "../test/support/pod-env.js";
import { fmtMs, median, percentile, timed } from "./stats.js";

async function bareRuncRun(rounds: number): Promise<number[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-bench-runc-"));
  const rootfs = path.join(dir, "rootfs");
  await fs.mkdir(path.join(rootfs, "bin"), { recursive: true });
  await fs.copyFile("/usr/bin/busybox", path.join(rootfs, "bin", "busybox"));
  await fs.symlink("busybox", path.join(rootfs, "bin", "true"));
  await fs.mkdir(path.join(rootfs, "proc"));
  execFileSync("runc", ["spec"], { cwd: dir });
  const spec = JSON.parse(await fs.readFile(path.join(dir, "config.json"), "utf8")) as {
    process: { args: string[]; terminal: boolean };
    linux: { cgroupsPath?: string };
  };
  spec.process.args = ["/bin/true"];
  spec.process.terminal = false;
  spec.linux.cgroupsPath = "/berth-bench/runc";
  await fs.writeFile(path.join(dir, "config.json"), JSON.stringify(spec));
  const samples: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      const res = spawnSync("runc", ["--root", path.join(dir, "state"), "run", `bench-${i}`], {
        cwd: dir,
      });
      if (res.status !== 0) throw new Error(`runc run: ${res.stderr.toString()}`);
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    await removeCgroupPath("/berth-bench/runc");
  }
  return samples;
}

function line(name: string, samples: number[], baseline?: number): string {
  const med = median(samples);
  const ratio = baseline !== undefined ? `  (${(med / baseline).toFixed(1)}x bare runc run)` : "";
  return `${name.padEnd(36)} median ${fmtMs(med).padStart(10)}  p95 ${fmtMs(percentile(samples, 95)).padStart(10)}${ratio}`;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 30);
  const env = await startPodEnv({ logLevel: "warn" });
  const run: number[] = [];
  const createStart: number[] = [];
  const stopRemove: number[] = [];
  const version: number[] = [];
  try {
    const c = env.berthd.client.call;
    for (let i = 0; i < 20; i++) version.push((await timed(() => c.Version({}))).ms);
    for (let i = 0; i < rounds; i++) {
      const pod = podConfig(env, `bench-${i}`);
      const r = await timed(() => c.RunPodSandbox({ config: pod }));
      run.push(r.ms);
      const podId = r.value.pod_sandbox_id;
      createStart.push(
        (
          await timed(async () => {
            const { container_id } = await c.CreateContainer({
              pod_sandbox_id: podId,
              config: containerConfig(env, "app", ["/bin/sleep", "3600"]),
              sandbox_config: pod,
            });
            await c.StartContainer({ container_id });
          })
        ).ms,
      );
      stopRemove.push(
        (
          await timed(async () => {
            await c.StopPodSandbox({ pod_sandbox_id: podId });
            await c.RemovePodSandbox({ pod_sandbox_id: podId });
          })
        ).ms,
      );
    }
  } finally {
    await env.cleanup();
  }
  const bare = await bareRuncRun(rounds);
  const base = median(bare);
  console.log(`rounds: ${rounds} (runc + conmon + CNI bridge, busybox image, 2 cores)`);
  console.log(line("baseline: Version RPC", version));
  console.log(line("baseline: bare runc run /bin/true", bare));
  console.log(line("RunPodSandbox", run, base));
  console.log(line("CreateContainer+StartContainer", createStart, base));
  console.log(line("StopPodSandbox+RemovePodSandbox", stopRemove, base));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
