// Micro-benchmark (not a test): reads 100 fixture-like cgroups concurrently, as one metrics
// scrape would, and prints the median time per round for v1, hybrid and v2 layouts.
//   npx tsc -p tsconfig.json && node dist/bench/cgroup-read.bench.js [cgroups] [rounds]
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import {
  detectCgroupSetup,
  readCgroupStats,
  type CgroupSetup,
  type StatsSection,
} from "../src/cgroup/index.js";

const FIXTURES = path.resolve(__dirname, "../../test/fixtures/cgroup");

interface Layout {
  mode: "v1" | "hybrid" | "v2";
  /** Fixture cgroup copied `count` times next to itself. */
  template: string;
}

const LAYOUTS: Layout[] = [
  { mode: "v1", template: "kubepods/pod123/abc" },
  { mode: "hybrid", template: "kubepods/pod456/def" },
  {
    mode: "v2",
    template:
      "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice/cri-berth-abc.scope",
  },
];

/** Copies the template cgroup to c0..c{count-1} in every hierarchy that holds it. */
async function buildTree(tmp: string, layout: Layout, count: number): Promise<CgroupSetup> {
  const src = path.join(FIXTURES, layout.mode);
  const dst = path.join(tmp, layout.mode);
  const hierarchies = layout.mode === "v2" ? [""] : await fs.readdir(src);
  for (const h of hierarchies) {
    const from = path.join(src, h, layout.template);
    const exists = await fs.stat(from).then(
      () => true,
      () => false,
    );
    if (!exists) continue;
    for (let i = 0; i < count; i++) {
      await fs.cp(from, path.join(dst, h, "bench", `c${i}`), { recursive: true });
    }
  }
  const mountinfo = await fs.readFile(path.join(FIXTURES, `mountinfo-${layout.mode}.txt`), "utf8");
  return detectCgroupSetup({ mountinfo, root: dst });
}

/** All sections, and the two a CRI stats call needs. */
const SECTION_SETS: (readonly StatsSection[] | undefined)[] = [undefined, ["cpu", "memory"]];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 100);
  const rounds = Number(process.argv[3] ?? 30);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cgroup-bench-"));
  try {
    for (const layout of LAYOUTS) {
      const setup = await buildTree(tmp, layout, count);
      const paths = Array.from({ length: count }, (_, i) => `/bench/c${i}`);
      for (const sections of SECTION_SETS) {
        const times: number[] = [];
        const cpuTimes: number[] = [];
        for (let r = 0; r < rounds + 3; r++) {
          const t0 = performance.now();
          const cpu0 = process.cpuUsage();
          const results = await Promise.all(
            paths.map((p) => readCgroupStats(setup, p, sections === undefined ? {} : { sections })),
          );
          const cpu = process.cpuUsage(cpu0);
          const dt = performance.now() - t0;
          if (results.some((s) => s?.memory === undefined)) {
            throw new Error(`${layout.mode}: a reading came back without memory`);
          }
          if (r >= 3) {
            // the first rounds warm the JIT and the dentry cache
            times.push(dt);
            cpuTimes.push((cpu.user + cpu.system) / 1000);
          }
        }
        // CPU time (main thread + libuv pool) is the steadier figure on a shared, loaded host.
        console.log(
          `${layout.mode.padEnd(6)} ${count} cgroups, ${(sections ?? ["all"]).join("+").padEnd(10)}: ` +
            `median ${median(times).toFixed(2)} ms wall (min ${Math.min(...times).toFixed(2)}), ` +
            `median ${median(cpuTimes).toFixed(2)} ms CPU, ${rounds} rounds`,
        );
      }
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
