// OCI / Docker schema2 manifests, indexes and image configs: the media types berth accepts and
// checked parsing of the JSON into plain typed data.
import { FailedPreconditionError } from "../../errors.js";
import { isDigest } from "../reference.js";

export const MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

/** The Accept header for manifest requests, most preferred first. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
].join(", ");

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface ImageManifest {
  kind: "manifest";
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  kind: "index";
  mediaType: string;
  manifests: Descriptor[];
}

/** The parts of the OCI image config berth uses; the raw JSON is kept alongside. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, unknown>;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  rootfs: { type: string; diff_ids: string[] };
  history?: unknown[];
}

export function isIndexMediaType(mt: string): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

export function isManifestMediaType(mt: string): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}

function bad(what: string, reason: string): FailedPreconditionError {
  return new FailedPreconditionError(`${what}: ${reason}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw bad(what, `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(v)) throw bad(what, "not a JSON object");
  return v;
}

function parsePlatform(v: unknown, what: string): Platform | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v) || typeof v.os !== "string" || typeof v.architecture !== "string") {
    throw bad(what, "platform needs string os and architecture");
  }
  const p: Platform = { os: v.os, architecture: v.architecture };
  if (typeof v.variant === "string" && v.variant !== "") p.variant = v.variant;
  if (typeof v["os.version"] === "string") p["os.version"] = v["os.version"];
  return p;
}

function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isRecord(v)) throw bad(what, "descriptor is not an object");
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== "string" || mediaType === "")
    throw bad(what, "descriptor without mediaType");
  if (typeof digest !== "string" || !isDigest(digest)) {
    throw bad(what, `descriptor with bad digest ${JSON.stringify(digest)}`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw bad(what, `descriptor ${digest} with bad size ${JSON.stringify(size)}`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (Array.isArray(v.urls)) d.urls = v.urls.filter((u): u is string => typeof u === "string");
  if (isRecord(v.annotations)) d.annotations = stringRecord(v.annotations);
  const platform = parsePlatform(v.platform, what);
  if (platform) d.platform = platform;
  return d;
}

function stringRecord(r: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(r)) if (typeof val === "string") out[k] = val;
  return out;
}

/**
 * Parses a manifest or index. `contentType` is the registry's Content-Type header; the body's
 * own `mediaType` wins when present (registries sometimes answer with a generic type).
 */
export function parseManifest(
  bytes: Buffer,
  contentType: string | undefined,
  what: string,
): ImageManifest | ImageIndex {
  const json = parseJson(bytes, what);
  const headerType = (contentType ?? "").split(";")[0]?.trim() ?? "";
  let mediaType =
    typeof json.mediaType === "string" && json.mediaType !== "" ? json.mediaType : headerType;
  if (json.schemaVersion === 1) throw bad(what, "Docker schema 1 manifests are not supported");
  if (json.schemaVersion !== 2)
    throw bad(what, `unsupported schemaVersion ${JSON.stringify(json.schemaVersion)}`);
  if (!isIndexMediaType(mediaType) && !isManifestMediaType(mediaType)) {
    // OCI allows mediaType to be omitted: decide by shape.
    if (Array.isArray(json.manifests)) mediaType = MediaType.ociIndex;
    else if (isRecord(json.config) && Array.isArray(json.layers)) mediaType = MediaType.ociManifest;
    else throw bad(what, `unsupported manifest media type "${mediaType}"`);
  }
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(json.manifests)) throw bad(what, "index without manifests");
    return {
      kind: "index",
      mediaType,
      manifests: json.manifests.map((m, i) => parseDescriptor(m, `${what} manifests[${i}]`)),
    };
  }
  if (!Array.isArray(json.layers)) throw bad(what, "manifest without layers");
  const m: ImageManifest = {
    kind: "manifest",
    mediaType,
    config: parseDescriptor(json.config, `${what} config`),
    layers: json.layers.map((l, i) => parseDescriptor(l, `${what} layers[${i}]`)),
  };
  if (isRecord(json.annotations)) m.annotations = stringRecord(json.annotations);
  return m;
}

/** Parses an image config, checking the fields the runtime depends on. */
export function parseImageConfig(bytes: Buffer, what: string): ImageConfig {
  const json = parseJson(bytes, what);
  const rootfs = json.rootfs;
  if (!isRecord(rootfs) || !Array.isArray(rootfs.diff_ids))
    throw bad(what, "config without rootfs.diff_ids");
  for (const id of rootfs.diff_ids) {
    if (typeof id !== "string" || !isDigest(id))
      throw bad(what, `bad diff_id ${JSON.stringify(id)}`);
  }
  if (json.config !== undefined && json.config !== null && !isRecord(json.config)) {
    throw bad(what, "config.config is not an object");
  }
  return json as unknown as ImageConfig;
}
