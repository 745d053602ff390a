// Builds OCI and Docker schema2 images in memory (layers, config, manifest, index) so tests can
// push them to a real registry and pull them back.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { runChecked, type CommandRunner } from "../../../src/util/command.js";
import { MediaType, type Platform } from "../../../src/image/registry/manifest.js";
import { makeTar, type TarEntry } from "./tar.js";

export type Compression = "gzip" | "zstd" | "none";
export type ImageFormat = "oci" | "docker";

export interface Blob {
  digest: string;
  size: number;
  mediaType: string;
  bytes: Buffer;
}

export interface BuiltLayer extends Blob {
  /** Digest of the uncompressed tar. */
  diffId: string;
  compression: Compression;
}

export interface BuiltImage {
  format: ImageFormat;
  platform: Platform;
  manifest: Blob;
  config: Blob;
  layers: BuiltLayer[];
}

export interface BuiltIndex {
  index: Blob;
  images: BuiltImage[];
}

export interface LayerSpec {
  /** Entries to tar; or `tar` for a ready-made (possibly hostile) uncompressed archive. */
  entries?: readonly TarEntry[];
  tar?: Buffer;
  compression?: Compression;
  /** Use these bytes as the blob as is (already compressed); `tar` then gives the diff ID. */
  rawBlob?: Buffer;
}

export interface ImageSpec {
  layers: readonly LayerSpec[];
  format?: ImageFormat;
  platform?: Platform;
  /** The runtime config (`config` in the image config JSON). */
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Labels?: Record<string, string>;
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
    StopSignal?: string;
  };
  /** Needed only for zstd layers. */
  runner?: CommandRunner;
  annotations?: Record<string, string>;
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function blobOf(bytes: Buffer, mediaType: string): Blob {
  return { digest: sha256(bytes), size: bytes.length, mediaType, bytes };
}

function jsonBlob(value: unknown, mediaType: string): Blob {
  return blobOf(Buffer.from(JSON.stringify(value)), mediaType);
}

function layerMediaType(format: ImageFormat, c: Compression): string {
  if (format === "docker") {
    if (c !== "gzip") throw new Error("Docker schema2 layers are gzip only");
    return MediaType.dockerLayerGzip;
  }
  return c === "gzip"
    ? MediaType.ociLayerGzip
    : c === "zstd"
      ? MediaType.ociLayerZstd
      : MediaType.ociLayer;
}

async function compress(
  tar: Buffer,
  c: Compression,
  runner: CommandRunner | undefined,
): Promise<Buffer> {
  if (c === "none") return tar;
  if (c === "gzip") return gzipSync(tar);
  if (!runner) throw new Error("zstd compression needs a CommandRunner");
  const res = await runChecked(runner, "zstd", ["-q", "-c", "-3"], { input: tar });
  return res.stdout;
}

export async function buildLayer(
  spec: LayerSpec,
  format: ImageFormat,
  runner?: CommandRunner,
): Promise<BuiltLayer> {
  const compression = spec.compression ?? "gzip";
  const tar = spec.tar ?? (await makeTar(spec.entries ?? []));
  const bytes = spec.rawBlob ?? (await compress(tar, compression, runner));
  return {
    ...blobOf(bytes, layerMediaType(format, compression)),
    diffId: sha256(tar),
    compression,
  };
}

export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const format = spec.format ?? "oci";
  const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const layers: BuiltLayer[] = [];
  for (const l of spec.layers) layers.push(await buildLayer(l, format, spec.runner));
  const configJson: Record<string, unknown> = {
    created: "2024-01-01T00:00:00Z",
    architecture: platform.architecture,
    os: platform.os,
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...spec.config,
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({
      created: "2024-01-01T00:00:00Z",
      created_by: `berth test layer ${i}`,
    })),
  };
  if (platform.variant) configJson.variant = platform.variant;
  const config = jsonBlob(
    configJson,
    format === "oci" ? MediaType.ociConfig : MediaType.dockerConfig,
  );
  const descriptor = (b: Blob): Record<string, unknown> => ({
    mediaType: b.mediaType,
    digest: b.digest,
    size: b.size,
  });
  const manifestJson: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: format === "oci" ? MediaType.ociManifest : MediaType.dockerManifest,
    config: descriptor(config),
    layers: layers.map(descriptor),
  };
  if (spec.annotations) manifestJson.annotations = spec.annotations;
  const manifest = jsonBlob(
    manifestJson,
    format === "oci" ? MediaType.ociManifest : MediaType.dockerManifest,
  );
  return { format, platform, manifest, config, layers };
}

/** An index (OCI) or manifest list (Docker) over already-built images, one entry per image. */
export function buildIndex(images: readonly BuiltImage[], format: ImageFormat = "oci"): BuiltIndex {
  const mediaType = format === "oci" ? MediaType.ociIndex : MediaType.dockerManifestList;
  const index = jsonBlob(
    {
      schemaVersion: 2,
      mediaType,
      manifests: images.map((img) => ({
        mediaType: img.manifest.mediaType,
        digest: img.manifest.digest,
        size: img.manifest.size,
        platform: img.platform,
      })),
    },
    mediaType,
  );
  return { index, images: [...images] };
}
