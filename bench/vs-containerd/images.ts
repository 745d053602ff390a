// The benchmark's images beyond the test busybox: containerd's sandbox (pause) image, holding the
// same static catatonit that berth runs as a pod's infra init, and the pull image: four gzip
// layers of ~17.5 MiB each of random bytes (incompressible, so gzip costs what it costs).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { buildImage, type BuiltImage } from "../../test/support/registry/image-builder.js";
import { dir, file, type TarEntry } from "../../test/support/registry/tar.js";

export const CATATONIT = "/usr/bin/catatonit";
const MiB = 1024 * 1024;

/** `/catatonit -P`: catatonit's pause mode, a PID 1 that only reaps and waits for a signal. */
export async function pauseImage(): Promise<BuiltImage> {
  return buildImage({
    layers: [{ entries: [file("catatonit", readFileSync(CATATONIT), 0o755)] }],
    config: { Entrypoint: ["/catatonit", "-P"], WorkingDir: "/" },
  });
}

/** One pull layer: ten 1.5 MiB files and a hundred 25 KiB ones, all random. */
function pullLayer(index: number): TarEntry[] {
  const name = `layer${index}`;
  const entries: TarEntry[] = [dir(name)];
  for (let i = 0; i < 10; i++) entries.push(file(`${name}/big${i}`, randomBytes(1.5 * MiB)));
  for (let i = 0; i < 100; i++) entries.push(file(`${name}/small${i}`, randomBytes(25 * 1024)));
  return entries;
}

export async function pullImage(): Promise<BuiltImage> {
  return buildImage({
    layers: [0, 1, 2, 3].map((i) => ({ entries: pullLayer(i), compression: "gzip" as const })),
    config: { Cmd: ["/bin/true"] },
  });
}

export function compressedSize(image: BuiltImage): number {
  return image.layers.reduce((n, l) => n + l.size, 0) + image.config.size;
}
