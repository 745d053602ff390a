// Benchmark (not a test), `make bench vs-containerd`: berth against Debian's containerd 1.6 + runc
// on this machine, driven by the same client (the conformance kit's crictl), the same images from
// one local registry and the same CNI shape (bridge + host-local + portmap, no masquerade), each
// runtime on its own bridge and subnet. Alternating lifecycle rounds, memory at 20 and 100 pods,
// then PullImage of a 4-layer ~70 MB image; prints issue 12's table, where berth's Create+Start
// goes (berthd's step timers) and which targets are met.
// Installs containerd when missing; leaves nothing running, mounted or configured.
// BENCH_HANDLER=crun runs both on crun instead (berth's crun handler; containerd's runc shim
// with crun as its binary): as the conformance kit's HANDLER=crun, hugetlb is mounted as a v1
// hierarchy for the run, so that crun 1.8 accepts this hybrid host, and given back after.
//   BENCH_ROUNDS=15 BENCH_PODS=20,100 BENCH_PULL_ROUNDS=5 node dist/bench/vs-containerd.bench.js
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../src/repo-root.js";
import { Berthd } from "../test/support/berthd.js";
import { moveHugetlbToV1 } from "../test/support/hugetlb-v1.js";
import { busyboxImage } from "../test/support/registry/images.js";
import { startRegistry } from "../test/support/registry/registry-server.js";
import { benchConflist, benchNetwork, containerdLayout } from "./vs-containerd/configs.js";
import {
  CNI_BIN_DIR,
  ContainerdDaemon,
  containerdVersion,
  ensurePackages,
  CRUN,
  RUNC,
} from "./vs-containerd/containerd-daemon.js";
import { CRICTL, Crictl } from "./vs-containerd/crictl.js";
import { SHIM_SOCKET_DIR } from "./vs-containerd/host-cleanup.js";
import { compressedSize, pauseImage, pullImage } from "./vs-containerd/images.js";
import {
  blobPresent,
  fillPods,
  lifecycleRounds,
  memoryWithPods,
  pullRounds,
  settle,
  type Side,
} from "./vs-containerd/phases.js";
import { measureRuntime, type MemoryFigures } from "./vs-containerd/processes.js";
import { renderTable, renderTargets, type Row } from "./vs-containerd/report.js";
import { type Env, teardown } from "./vs-containerd/teardown.js";
import { createStartBreakdown } from "./vs-containerd/create-start-breakdown.js";
import { meansBetween, stepTotals } from "./step-sums.js";
import { median } from "./stats.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 15);
/** BENCH_PODS= (empty) and BENCH_PULL_ROUNDS=0 leave those phases out. */
const POD_COUNTS = (process.env["BENCH_PODS"] ?? "20,100")
  .split(",")
  .filter((n) => n.trim() !== "")
  .map(Number);
const PULL_ROUNDS = Number(process.env["BENCH_PULL_ROUNDS"] ?? 5);
/** The OCI runtime both daemons use: runc (what this host runs as it is) or crun. */
const HANDLER = process.env["BENCH_HANDLER"] ?? "runc";
const RUNTIME_PATH = HANDLER === "crun" ? CRUN : RUNC;
/** berthd's and containerd's default: layers downloaded at once. */
const DOWNLOADS_AT_ONCE = 3;
const SETTLE_MS = 5000;
const MiB = 1024 * 1024;

function machine(): string {
  const mem = /^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1];
  const runtime = execFileSync(RUNTIME_PATH, ["--version"], { encoding: "utf8" }).split("\n")[0];
  const berth = (
    JSON.parse(readFileSync(path.join(repoRoot(), "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  return [
    `${new Date().toISOString().slice(0, 16)}Z, ${os.hostname()}: Linux ${os.release()}, ` +
      `${os.cpus().length} cores, ${(Number(mem) / 1024 / 1024).toFixed(1)} GiB`,
    `berth ${berth} (${HANDLER} handler, node ${process.version}); ${containerdVersion()} ` +
      `(runc shim driving ${HANDLER}); ${runtime}`,
  ].join("\n");
}

function mib(kib: number): number {
  return kib / 1024;
}

function memLine(name: string, m: MemoryFigures): string {
  return (
    `  ${name.padEnd(10)} daemon RSS ${mib(m.daemon.rssKiB).toFixed(1)} MiB PSS ${mib(m.daemon.pssKiB).toFixed(1)} MiB; ` +
    `${m.helpers.count} helpers (${m.helpers.names.join(", ") || "none"}) RSS ${mib(m.helpers.rssKiB).toFixed(1)} MiB ` +
    `PSS ${mib(m.helpers.pssKiB).toFixed(1)} MiB; ${m.podHolders.count} pod holders (${m.podHolders.names.join(", ") || "none"}) ` +
    `RSS ${mib(m.podHolders.rssKiB).toFixed(1)} MiB PSS ${mib(m.podHolders.pssKiB).toFixed(1)} MiB`
  );
}

async function run(env: Env): Promise<void> {
  const reg = await startRegistry();
  env.registry = reg;
  // Pulls bypass the registry helper's fault-injecting proxy: nothing but docker-registry.
  const regHost = new URL(reg.directUrl).host;
  const [busybox, pause, big] = await Promise.all([busyboxImage(), pauseImage(), pullImage()]);
  await reg.pusher.pushImage("busybox", busybox, "1");
  await reg.pusher.pushImage("pause", pause, "1");
  await reg.pusher.pushImage("vsbench/pull", big, "1");
  const image = `${regHost}/busybox:1`;
  const pullRef = `${regHost}/vsbench/pull:1`;

  const berthNet = benchNetwork("berth", path.join(env.benchDir, "berth"));
  const berthCni = path.join(env.benchDir, "berth", "cni-conf");
  await fs.mkdir(berthCni, { recursive: true });
  await fs.writeFile(path.join(berthCni, "10-vsbench.conflist"), benchConflist(berthNet));
  // berth's defaults but the OCI runtime containerd is given, and info logging (the harness
  // defaults to debug).
  const berthd = await Berthd.start({
    logLevel: "info",
    configToml: [
      `default_runtime = "${HANDLER}"`,
      `max_concurrent_downloads = ${DOWNLOADS_AT_ONCE}`,
      "[cni]",
      `conf_dir = "${berthCni}"`,
      `plugin_dirs = ["${CNI_BIN_DIR}"]`,
      "default_network = false",
    ].join("\n"),
  });
  env.berthd = berthd;
  const berthSide: Side = {
    name: "berth",
    crictl: await Crictl.create(berthd.socket, path.join(env.benchDir, "berth")),
    dir: berthd.dir,
    daemonPid: () => berthd.pid,
    net: berthNet,
    podDir: path.join(env.benchDir, "berth"),
    logDir: path.join(env.benchDir, "berth", "logs"),
    cgroupRoot: `${env.cgroupRoot}/berth`,
    restart: async () => {
      await berthd.stop();
      await berthd.launch();
    },
  };
  env.sides.push(berthSide);

  const layout = containerdLayout(path.join(env.benchDir, "containerd"));
  const ctdNet = benchNetwork("containerd", layout.dir);
  const ctdClientDir = path.join(env.benchDir, "containerd-client");
  await fs.mkdir(ctdClientDir, { recursive: true });
  const ctdSide: Side = {
    name: "containerd",
    crictl: await Crictl.create(layout.socket, ctdClientDir),
    dir: layout.dir,
    daemonPid: () => env.containerd?.pid,
    net: ctdNet,
    podDir: ctdClientDir,
    logDir: path.join(ctdClientDir, "logs"),
    cgroupRoot: `${env.cgroupRoot}/containerd`,
  };
  env.sides.push(ctdSide);
  env.containerd = await ContainerdDaemon.start({
    layout,
    network: ctdNet,
    registryHost: regHost,
    sandboxImage: `${regHost}/pause:1`,
    maxConcurrentDownloads: DOWNLOADS_AT_ONCE,
    runtimePath: RUNTIME_PATH,
  });
  await env.containerd.waitReady(ctdSide.crictl);
  const sides = [berthSide, ctdSide] as const;

  // Idle: started, settled, no image and no pod yet.
  await settle(SETTLE_MS);
  const idle = new Map<string, MemoryFigures>();
  for (const s of sides) idle.set(s.name, await measureRuntime(s.daemonPid(), s.dir));
  for (const s of sides) await s.crictl.run(["pull", image]);
  await ctdSide.crictl.run(["pull", `${regHost}/pause:1`]);

  console.log(`lifecycle: ${ROUNDS} rounds per runtime, alternating (after one warm-up each)`);
  // berthd's own step timers over the rounds (the harness always serves /metrics).
  const metricsPort = berthd.metricsPort;
  if (metricsPort === undefined) throw new Error("berthd serves no /metrics");
  const stepsBefore = await stepTotals(metricsPort);
  const life = await lifecycleRounds(sides, ROUNDS, image);
  const berthSteps = meansBetween(stepsBefore, await stepTotals(metricsPort));

  const mem = new Map<number, Map<string, MemoryFigures>>();
  for (const s of sides) {
    let have = 0;
    for (const n of POD_COUNTS) {
      console.log(`memory: ${s.name} at ${n} pods`);
      await fillPods(s, have, n, image);
      have = n;
      await settle(SETTLE_MS);
      if (!mem.has(n)) mem.set(n, new Map());
      mem.get(n)!.set(s.name, await memoryWithPods(s, n));
    }
    await s.crictl.removeAllPods();
  }
  // Idle again: every pod gone. Code the start never ran (V8's optimizing compiler, the paths of
  // the lifecycle) has been paged in by now, so this is the idle a working node sees.
  await settle(SETTLE_MS);
  const idleAfter = new Map<string, MemoryFigures>();
  for (const s of sides) idleAfter.set(s.name, await measureRuntime(s.daemonPid(), s.dir));

  console.log(`pull: one warm-up, then ${PULL_ROUNDS} rounds per runtime, alternating`);
  // Warm the registry's files into the page cache once, so neither runtime pays for the disk.
  for (const b of [big.config, ...big.layers]) {
    await (await fetch(`${reg.directUrl}/v2/vsbench/pull/blobs/${b.digest}`)).arrayBuffer();
  }
  const pulls = await pullRounds(sides, pullRef, Math.max(PULL_ROUNDS, 0), {
    afterRemove: async (s) => {
      // `crictl images -q REF` printed containerd's other images as well: match the tags.
      const listed = JSON.parse(await s.crictl.run(["images", "-o", "json"])) as {
        images: { repoTags?: string[] }[];
      };
      if (listed.images.some((i) => (i.repoTags ?? []).includes(pullRef))) {
        throw new Error(`${s.name}: ${pullRef} still listed after rmi`);
      }
      // containerd's CRI removes the last reference synchronously, garbage collection included:
      // a blob still there would make the next pull a warm one.
      if (s.name === "containerd" && big.layers.some((l) => blobPresent(layout.root, l.digest))) {
        throw new Error("containerd kept the layer blobs after rmi");
      }
    },
  });

  const b = life.get("berth")!;
  const c = life.get("containerd")!;
  const rows: Row[] = [
    {
      // Not a target: what each figure below pays for the client itself, once per crictl call
      // (one for RunPodSandbox, two for each pair), the same for both runtimes.
      step: "crictl version (the client's own cost per call)",
      berth: median(b.version),
      containerd: median(c.version),
      unit: "ms",
    },
    {
      step: "RunPodSandbox",
      berth: median(b.run),
      containerd: median(c.run),
      unit: "ms",
      maxRatio: 0.6,
    },
    {
      step: "CreateContainer + StartContainer",
      berth: median(b.createStart),
      containerd: median(c.createStart),
      unit: "ms",
      maxRatio: 0.8,
    },
    {
      step: "StopPodSandbox + RemovePodSandbox",
      berth: median(b.stopRemove),
      containerd: median(c.stopRemove),
      unit: "ms",
      maxRatio: 0.6,
    },
  ];
  const memTargets: Record<number, number> = { 20: 0.5, 100: 0.3 };
  for (const n of POD_COUNTS) {
    const bm = mem.get(n)!.get("berth")!;
    const cm = mem.get(n)!.get("containerd")!;
    const rss = (m: MemoryFigures) => mib(m.daemon.rssKiB + m.helpers.rssKiB);
    const pss = (m: MemoryFigures) => mib(m.daemon.pssKiB + m.helpers.pssKiB);
    const all = (m: MemoryFigures) => pss(m) + mib(m.podHolders.pssKiB);
    rows.push(
      {
        step: `memory at ${n} pods, RSS (daemon + helpers)`,
        berth: rss(bm),
        containerd: rss(cm),
        unit: "MiB",
        maxRatio: memTargets[n],
      },
      {
        step: `memory at ${n} pods, PSS (daemon + helpers)`,
        berth: pss(bm),
        containerd: pss(cm),
        unit: "MiB",
      },
      {
        step: `memory at ${n} pods, PSS incl. pod holders`,
        berth: all(bm),
        containerd: all(cm),
        unit: "MiB",
      },
    );
  }
  const bi = idle.get("berth")!;
  const ci = idle.get("containerd")!;
  rows.push({
    step: "daemon idle RSS",
    berth: mib(bi.daemon.rssKiB),
    containerd: mib(ci.daemon.rssKiB),
    unit: "MiB",
  });
  const ba = idleAfter.get("berth")!;
  const ca = idleAfter.get("containerd")!;
  rows.push({
    step: `daemon RSS, idle again after ${Math.max(...POD_COUNTS)} pods`,
    berth: mib(ba.daemon.rssKiB),
    containerd: mib(ca.daemon.rssKiB),
    unit: "MiB",
  });
  if (PULL_ROUNDS > 0) {
    rows.push({
      step: `PullImage, ${big.layers.length} gzip layers, ${(compressedSize(big) / 1e6).toFixed(0)} MB`,
      berth: median(pulls.rounds.get("berth")!) / 1000,
      containerd: median(pulls.rounds.get("containerd")!) / 1000,
      unit: "s",
      maxRatio: 0.8,
    });
  }

  console.log(`\n${machine()}`);
  console.log(`crictl ${CRICTL}; lifecycle medians of ${ROUNDS}, pull medians of ${PULL_ROUNDS}\n`);
  console.log(renderTable(rows));
  console.log(
    "\nmemory detail (helpers: conmon / containerd-shim-runc-v2; pod holders: infra / pause):",
  );
  console.log(memLine("idle berth", bi));
  console.log(memLine("idle ctrd", ci));
  console.log(memLine("after berth", ba));
  console.log(memLine("after ctrd", ca));
  for (const n of POD_COUNTS) {
    console.log(memLine(`${n} berth`, mem.get(n)!.get("berth")!));
    console.log(memLine(`${n} ctrd`, mem.get(n)!.get("containerd")!));
  }
  const samples = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");
  console.log("\nsamples (ms):");
  for (const s of sides) {
    const l = life.get(s.name)!;
    console.log(`  ${s.name} crictl version: ${samples(l.version)}`);
    console.log(`  ${s.name} runp: ${samples(l.run)}`);
    console.log(`  ${s.name} create+start: ${samples(l.createStart)}`);
    console.log(`  ${s.name} stopp+rmp: ${samples(l.stopRemove)}`);
    console.log(
      `  ${s.name} pull: ${samples(pulls.rounds.get(s.name)!)} (warm-up ${samples([pulls.warmup.get(s.name) ?? NaN])})`,
    );
  }
  console.log(
    `\n${createStartBreakdown(berthSteps, {
      versionMs: median(b.version),
      berthMs: median(b.createStart),
      containerdMs: median(c.createStart),
    }).join("\n")}`,
  );
  console.log(
    "\n" +
      renderTargets(rows, [
        { what: "berthd idle RSS", value: mib(bi.daemon.rssKiB), unit: "MiB", max: 60e6 / MiB },
      ]),
  );
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("vs-containerd: skipped, needs root (both runtimes run real pods)");
    return;
  }
  if (!existsSync(CRICTL)) {
    throw new Error(`no crictl at ${CRICTL} (the conformance kit's; set CRICTL to another)`);
  }
  if (HANDLER !== "runc" && HANDLER !== "crun") {
    throw new Error(`BENCH_HANDLER=${HANDLER}: runc or crun`);
  }
  ensurePackages();
  const env: Env = {
    benchDir: await fs.mkdtemp(path.join(os.tmpdir(), "berth-vsbench-")),
    cgroupRoot: `/vsbench${randomBytes(4).toString("hex")}`,
    sides: [],
    runDirExisted: existsSync(path.dirname(SHIM_SOCKET_DIR)),
  };
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaning ??= teardown(env));
  const onSignal = (sig: NodeJS.Signals): void => {
    console.error(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    if (HANDLER === "crun") {
      const move = moveHugetlbToV1();
      env.restoreHugetlb = () => move.restore();
    }
    await run(env);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
