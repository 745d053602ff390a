// Benchmark (not a test): PullImage of a ~100 MB, 4-layer gzip image (half incompressible, half
// compressible text; big and small files) from a local registry into a real berthd, median of 3
// runs with the image removed in between. Baseline in the same run: plain HTTP GETs of the same
// blobs through the same registry endpoint, as many at a time as berthd downloads.
// BENCH_IMAGE=vs-containerd pulls the head-to-head's image instead (see benchImage).
// BERTHD_BASELINE=<path of another build's bin/berthd> also pulls with that build, alternating
// with this one in every round, and prints this build's time as a ratio of the other's.
//   npx tsc -p tsconfig.json && node dist/bench/image-pull.bench.js   (as root)
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Berthd } from "../test/support/berthd.js";
import { buildImage, type BuiltImage } from "../test/support/registry/image-builder.js";
import { startRegistry, type TestRegistry } from "../test/support/registry/registry-server.js";
import { dir, file, type TarEntry } from "../test/support/registry/tar.js";
import { median, timed } from "./stats.js";
import { pullImage } from "./vs-containerd/images.js";

/** BENCH_RUNS overrides. */
const RUNS = Number(process.env.BENCH_RUNS ?? "3");
const MB = 1024 * 1024;
/** berthd's default max_concurrent_downloads. */
const DOWNLOADS_AT_ONCE = 3;
const REPO = "bench/pull";

/** Text that gzip shrinks several times but not to nothing. */
function compressible(bytes: number, seed: number): Buffer {
  const words = ["alpha", "berth", "cri", "layer", "overlay", "pod", "registry", "snapshot"];
  const noise = randomBytes(Math.ceil(bytes / 16)).toString("hex");
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${seed}:${i} ${words[(i * 7 + seed) % words.length]}=${(i * 7919) % 100003} ${noise.slice((i * 6) % (noise.length - 6), ((i * 6) % (noise.length - 6)) + 6)}\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join("")).subarray(0, bytes);
}

function files(name: string, count: number, each: number, random: boolean): TarEntry[] {
  const out: TarEntry[] = [dir(name)];
  for (let i = 0; i < count; i++) {
    out.push(file(`${name}/f${i}`, random ? randomBytes(each) : compressible(each, i), 0o644));
  }
  return out;
}

async function benchImage(): Promise<{ image: BuiltImage; unpacked: number }> {
  // BENCH_IMAGE=vs-containerd: the image the head-to-head with containerd pulls (4 x ~17.5 MiB
  // of random files, big and small), to measure that figure without the whole head-to-head.
  if (process.env.BENCH_IMAGE === "vs-containerd") {
    const image = await pullImage();
    const unpacked = image.layers.reduce((n, l) => n + l.size, 0); // random: gzip keeps the size
    return { image, unpacked };
  }
  const layers: TarEntry[][] = [
    files("big-random", 30, 1 * MB, true),
    files("big-text", 10, 2 * MB, false),
    files("small-random", 100, MB / 4, true),
    files("small-text", 500, 50 * 1024, false),
  ];
  const unpacked = layers
    .flat()
    .reduce((n, e) => n + (e.content === undefined ? 0 : Buffer.byteLength(e.content)), 0);
  const image = await buildImage({
    layers: layers.map((entries) => ({ entries, compression: "gzip" as const })),
    config: { Cmd: ["/bin/true"] },
  });
  return { image, unpacked };
}

/** GETs every blob of the image through the registry endpoint, discarding the bytes. */
async function rawDownload(reg: TestRegistry, image: BuiltImage): Promise<number> {
  const blobs = [image.config, ...image.layers];
  let next = 0;
  let total = 0;
  const worker = async (): Promise<void> => {
    while (next < blobs.length) {
      const b = blobs[next++]!;
      const res = await fetch(`${reg.url}/v2/${REPO}/blobs/${b.digest}`);
      if (!res.ok || !res.body) throw new Error(`GET ${b.digest}: HTTP ${res.status}`);
      for await (const chunk of res.body) total += (chunk as Uint8Array).length;
    }
  };
  await Promise.all(Array.from({ length: DOWNLOADS_AT_ONCE }, worker));
  return total;
}

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function mbps(bytes: number, ms: number): string {
  return `${(bytes / MB / (ms / 1000)).toFixed(1)} MB/s`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("image-pull: skipped, needs root (berthd unpacks as root)");
    return;
  }
  const built = await timed(benchImage);
  const { image, unpacked } = built.value;
  const compressed = image.layers.reduce((n, l) => n + l.size, 0) + image.config.size;
  const reg = await startRegistry();
  let berthd: Berthd | undefined;
  let baseline: Berthd | undefined;
  const baselineBin = process.env.BERTHD_BASELINE;
  try {
    const push = await timed(() => reg.pusher.pushImage(REPO, image, "1"));
    console.log(
      `(setup: image built in ${(built.ms / 1000).toFixed(1)} s, pushed in ${(push.ms / 1000).toFixed(1)} s)`,
    );
    berthd = await Berthd.start({ logLevel: "warn", metrics: false });
    if (baselineBin) {
      baseline = await Berthd.start({ logLevel: "warn", metrics: false, bin: baselineBin });
    }
    const name = `${reg.host}/${REPO}:1`;
    const cpu = new Map<Berthd, number[]>();
    const pullOnce = async (d: Berthd): Promise<number> => {
      const c = d.client.call;
      const cpu0 = cpuSeconds(d.pid);
      const pull = await timed(() => c.PullImage({ image: { image: name } }));
      const used = cpuSeconds(d.pid) - cpu0;
      cpu.set(d, [...(cpu.get(d) ?? []), used]);
      if (pull.value.image_ref !== image.config.digest) throw new Error("pulled the wrong image");
      await c.RemoveImage({ image: { image: name } });
      if ((await c.ListImages({})).images.length !== 0) throw new Error("image not removed");
      return pull.ms;
    };
    const pulls: number[] = [];
    const basePulls: number[] = [];
    const raws: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const raw = await timed(() => rawDownload(reg, image));
      if (raw.value !== compressed) throw new Error(`raw GETs read ${raw.value} of ${compressed}`);
      raws.push(raw.ms);
      // Alternate which build goes first, so neither always finds a warmer page cache.
      if (baseline && r % 2 === 1) basePulls.push(await pullOnce(baseline));
      pulls.push(await pullOnce(berthd));
      if (baseline && r % 2 === 0) basePulls.push(await pullOnce(baseline));
    }
    const pull = median(pulls);
    const raw = median(raws);
    console.log(
      `image: ${image.layers.length} gzip layers, ${(compressed / MB).toFixed(1)} MB compressed, ` +
        `${(unpacked / MB).toFixed(1)} MB unpacked`,
    );
    console.log(
      `PullImage (download, verify, unpack): median ${(pull / 1000).toFixed(2)} s of ${RUNS} ` +
        `[${pulls.map((p) => (p / 1000).toFixed(2)).join(", ")}], ` +
        `${mbps(compressed, pull)} compressed, ${mbps(unpacked, pull)} unpacked`,
    );
    console.log(
      `baseline, raw HTTP GET of the blobs (${DOWNLOADS_AT_ONCE} at a time): median ` +
        `${(raw / 1000).toFixed(2)} s, ${mbps(compressed, raw)}`,
    );
    console.log(`ratio PullImage / raw download: ${(pull / raw).toFixed(1)}x`);
    const cpuOf = (d: Berthd): number => median(cpu.get(d) ?? []);
    console.log(`berthd CPU per pull (user+sys): median ${cpuOf(berthd).toFixed(2)} s`);
    if (baseline) {
      const base = median(basePulls);
      console.log(
        `baseline build ${baselineBin ?? ""}: median ${(base / 1000).toFixed(2)} s ` +
          `[${basePulls.map((p) => (p / 1000).toFixed(2)).join(", ")}]; ` +
          `this build / baseline: ${(pull / base).toFixed(2)}`,
      );
      console.log(
        `baseline CPU per pull: median ${cpuOf(baseline).toFixed(2)} s; ` +
          `this build / baseline: ${(cpuOf(berthd) / cpuOf(baseline)).toFixed(2)}`,
      );
    }
  } finally {
    await berthd?.cleanup();
    await baseline?.cleanup();
    await reg.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
