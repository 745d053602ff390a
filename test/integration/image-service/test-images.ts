// The issue #3 test images, built from entry lists kept alongside so the expected unpacked tree
// can be computed (image-tree.ts expectedTree) and compared with what berthd unpacked.
import { ProcessRunner } from "../../../src/util/command.js";
import {
  buildImage,
  type BuiltImage,
  type BuiltIndex,
  type LayerSpec,
} from "../../support/registry/image-builder.js";
import {
  busyboxEntries,
  multiLayerSpecs,
  multiPlatformIndex,
} from "../../support/registry/images.js";
import type { TestRegistry } from "../../support/registry/registry-server.js";
import { dir, file, type TarEntry } from "../../support/registry/tar.js";

export interface TestImage {
  /** Repository in the test registry; pushed with tag `1`. */
  repo: string;
  /** What a tag resolves to: the image manifest, or the index. */
  topDigest: string;
  /** The image this host pulls (for an index, its linux/amd64 entry). */
  image: BuiltImage;
  index?: BuiltIndex;
  /** Entries of each layer, bottom first, for the expected tree. */
  layerEntries: TarEntry[][];
  cmd: string[];
}

function entriesOf(specs: readonly LayerSpec[]): TarEntry[][] {
  return specs.map((s) => [...(s.entries ?? [])]);
}

async function plain(
  repo: string,
  specs: LayerSpec[],
  cmd: string[],
  format: "oci" | "docker" = "oci",
): Promise<TestImage> {
  const image = await buildImage({
    format,
    layers: specs,
    runner: new ProcessRunner(),
    config: { Cmd: cmd, Labels: { "org.berth.test": repo } },
  });
  return { repo, topDigest: image.manifest.digest, image, layerEntries: entriesOf(specs), cmd };
}

export async function busyboxTestImage(): Promise<TestImage> {
  return plain("t/busybox", [{ entries: busyboxEntries() }], ["/bin/sh"]);
}

export async function multiLayerTestImage(): Promise<TestImage> {
  return plain("t/multi", multiLayerSpecs(), ["/app/run.sh"]);
}

/** The same layers as the multi-layer image (so they are shared), as Docker schema2. */
export async function dockerTestImage(): Promise<TestImage> {
  return plain("t/docker", multiLayerSpecs(), ["/app/run.sh"], "docker");
}

export async function zstdTestImage(): Promise<TestImage> {
  return plain(
    "t/zstd",
    [
      { entries: busyboxEntries(), compression: "gzip" },
      {
        entries: [dir("zstd"), file("zstd/hello.txt", "compressed with zstd\n", 0o600)],
        compression: "zstd",
      },
      { entries: [file("zstd/plain.txt", "uncompressed layer\n")], compression: "none" },
    ],
    ["cat", "/zstd/hello.txt"],
  );
}

/** 120 tiny layers, layer i adding /layers/<i>.txt. */
export async function manyLayersTestImage(count = 120): Promise<TestImage> {
  const specs: LayerSpec[] = [];
  for (let i = 0; i < count; i++) {
    specs.push({
      entries:
        i === 0 ? [dir("layers"), file("layers/0.txt", "0")] : [file(`layers/${i}.txt`, String(i))],
    });
  }
  return plain("t/many", specs, ["/bin/true"]);
}

/** linux/arm64/v8 and linux/amd64 under one OCI index; this host pulls the amd64 one. */
export async function indexTestImage(): Promise<TestImage> {
  const index = await multiPlatformIndex("oci");
  const image = index.images.find((i) => i.platform.architecture === "amd64");
  if (!image) throw new Error("index without amd64");
  return {
    repo: "t/index",
    topDigest: index.index.digest,
    image,
    index,
    layerEntries: [[file("platform.txt", "linux/amd64\n")]],
    cmd: ["/bin/true"],
  };
}

export async function pushTestImage(reg: TestRegistry, t: TestImage, tag = "1"): Promise<void> {
  if (t.index) await reg.pusher.pushIndex(t.repo, t.index, tag);
  else await reg.pusher.pushImage(t.repo, t.image, tag);
}

/** The image size berthd reports: config plus compressed layer bytes. */
export function expectedSize(t: TestImage): string {
  return String(t.image.config.size + t.image.layers.reduce((n, l) => n + l.size, 0));
}
