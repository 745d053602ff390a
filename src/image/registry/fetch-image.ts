// Resolving a reference to what a pull needs: the manifest for this node's platform (choosing
// from an index), the parsed image config and the layer descriptors, all digest-verified; and
// downloading one blob into the content store, or through to the unpack. The puller wires these
// to the unpacker.
import type { Readable, Writable } from "node:stream";
import { FailedPreconditionError, NotFoundError } from "../../errors.js";
import type { ContentStore, ProgressCallback } from "../content-store.js";
import { formatReference, manifestReference, type ImageReference } from "../reference.js";
import type { RegistryClient } from "./client.js";
import type { RegistryCredentials } from "./credentials.js";
import type { RegistryEndpoint } from "./endpoints.js";
import {
  parseImageConfig,
  parseManifest,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from "./manifest.js";
import { formatPlatform, hostPlatform, selectPlatform } from "./platform.js";

/** Indexes may nest (an index pointing at an index); deeper than this is refused. */
const MAX_INDEX_DEPTH = 3;

export interface FetchedDocument<T> {
  digest: string;
  bytes: Buffer;
  value: T;
}

export interface FetchedImage {
  ref: ImageReference;
  /**
   * Digest of what the reference resolved to — the index when the tag names one. This is the
   * digest for repoDigests (`docker.io/library/busybox@<manifestDigest>`).
   */
  manifestDigest: string;
  /** The platform-specific manifest (equal to the resolved one when there is no index). */
  manifest: FetchedDocument<ImageManifest>;
  /** Indexes passed through on the way to the manifest, outermost first. */
  indexes: FetchedDocument<ImageIndex>[];
  /** The image config; its digest is the image ID. */
  config: FetchedDocument<ImageConfig>;
  layers: Descriptor[];
  /** The endpoint that served the manifest; pass it to fetchBlob to prefer it for layers. */
  endpoint: RegistryEndpoint;
  platform: Platform;
}

export interface FetchImageOptions {
  platform?: Platform;
  credentials?: RegistryCredentials;
}

/** Fetches and verifies the manifest(s) and config of `ref` for `platform` (default: this host). */
export async function fetchImage(
  client: RegistryClient,
  ref: ImageReference,
  opts: FetchImageOptions = {},
): Promise<FetchedImage> {
  const platform = opts.platform ?? hostPlatform();
  const name = formatReference(ref);
  const top = await client.getManifest(ref, manifestReference(ref), opts.credentials);
  const endpoint = top.endpoint;
  const indexes: FetchedDocument<ImageIndex>[] = [];
  let current = { digest: top.digest, bytes: top.bytes, contentType: top.contentType };
  for (let depth = 0; ; depth++) {
    const parsed = parseManifest(
      current.bytes,
      current.contentType,
      `manifest ${current.digest} of ${name}`,
    );
    if (parsed.kind === "manifest") {
      const manifest = { digest: current.digest, bytes: current.bytes, value: parsed };
      const config = await fetchConfig(client, ref, parsed, opts.credentials, endpoint);
      return {
        ref,
        manifestDigest: top.digest,
        manifest,
        indexes,
        config,
        layers: parsed.layers,
        endpoint,
        platform,
      };
    }
    indexes.push({ digest: current.digest, bytes: current.bytes, value: parsed });
    if (depth >= MAX_INDEX_DEPTH)
      throw new FailedPreconditionError(`image ${name}: indexes nested too deeply`);
    const chosen = selectPlatform(parsed.manifests, platform);
    if (!chosen) {
      const offered = parsed.manifests
        .flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : []))
        .join(", ");
      throw new NotFoundError(
        `image ${name} has no manifest for platform ${formatPlatform(platform)} (it offers: ${offered || "none"})`,
      );
    }
    const child = await client.getManifest(ref, chosen.digest, opts.credentials, {
      size: chosen.size,
    });
    current = { digest: child.digest, bytes: child.bytes, contentType: chosen.mediaType };
  }
}

async function fetchConfig(
  client: RegistryClient,
  ref: ImageReference,
  manifest: ImageManifest,
  credentials: RegistryCredentials | undefined,
  endpoint: RegistryEndpoint,
): Promise<FetchedDocument<ImageConfig>> {
  const desc = manifest.config;
  const bytes = await client.readBlob(ref, desc, credentials, endpoint);
  const value = parseImageConfig(bytes, `config ${desc.digest} of ${formatReference(ref)}`);
  const layerCount = manifest.layers.length;
  if (value.rootfs.diff_ids.length !== layerCount) {
    throw new FailedPreconditionError(
      `image ${formatReference(ref)}: manifest has ${layerCount} layers but config lists ${value.rootfs.diff_ids.length} diff_ids`,
    );
  }
  return { digest: desc.digest, bytes, value };
}

export interface FetchBlobOptions {
  credentials?: RegistryCredentials;
  /** Endpoint to try first (FetchedImage.endpoint). */
  endpoint?: RegistryEndpoint;
  /** Called as bytes of this blob arrive (not called when the blob is already stored). */
  onProgress?: ProgressCallback;
  /** Ends the download (the stream is destroyed with the signal's reason) when it aborts. */
  signal?: AbortSignal;
}

/** Opens the blob's download, ended with the signal's reason when `signal` aborts. */
function blobOpener(
  client: RegistryClient,
  ref: ImageReference,
  desc: Pick<Descriptor, "digest" | "size">,
  opts: FetchBlobOptions,
): () => Promise<Readable> {
  return async () => {
    const signal = opts.signal;
    signal?.throwIfAborted();
    const stream = await client.openBlob(ref, desc, opts.credentials, opts.endpoint);
    if (signal) {
      const stop = () => stream.destroy(signal.reason instanceof Error ? signal.reason : undefined);
      if (signal.aborted) stop();
      else {
        signal.addEventListener("abort", stop, { once: true });
        stream.once("close", () => signal.removeEventListener("abort", stop));
      }
    }
    return stream;
  };
}

/**
 * Downloads `desc` into the content store unless it is already there, verified; concurrent
 * calls for one digest share the download. Resolves to the blob's path in the store.
 */
export async function fetchBlob(
  client: RegistryClient,
  store: ContentStore,
  ref: ImageReference,
  desc: Pick<Descriptor, "digest" | "size">,
  opts: FetchBlobOptions = {},
): Promise<string> {
  return store.ensure(desc.digest, desc.size, blobOpener(client, ref, desc, opts), opts.onProgress);
}

/**
 * Downloads `desc` into `tap` (ended) without storing it, verified: a layer on its way to the
 * unpack (ContentStore.stream). A blob the store holds already is read from there.
 */
export async function streamBlob(
  client: RegistryClient,
  store: ContentStore,
  ref: ImageReference,
  desc: Pick<Descriptor, "digest" | "size">,
  tap: Writable,
  opts: FetchBlobOptions = {},
): Promise<void> {
  await store.stream(
    desc.digest,
    desc.size,
    blobOpener(client, ref, desc, opts),
    tap,
    opts.onProgress,
  );
}
