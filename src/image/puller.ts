// PullImage: resolve the reference, fetch manifest and config, download the layers the snapshot
// store does not have yet (a few at a time), unpack each into its snapshot in order, and record
// the image. Concurrent pulls of one reference share one run.
import { UnavailableError, errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import type { BerthMetrics } from "../metrics/berth-metrics.js";
import type { CommandRunner } from "../util/command.js";
import { nowNs } from "../util/time.js";
import type { ContentStore } from "./content-store.js";
import type { ImageRecord, ImageStore } from "./image-store.js";
import { formatReference, parseReference, repoDigest, repoTag } from "./reference.js";
import {
  type RegistryClient,
  type RegistryCredentials,
  fetchBlob,
  fetchImage,
} from "./registry/index.js";
import type { SnapshotStore } from "./snapshots.js";
import { chainIds } from "./unpack/chain-id.js";

export interface PullerDeps {
  client: RegistryClient;
  content: ContentStore;
  snapshots: SnapshotStore;
  images: ImageStore;
  metrics: BerthMetrics;
  log: Logger;
  runner: CommandRunner;
  maxConcurrentDownloads: number;
}

/** Logs a layer's progress at most every few seconds. */
function progressLogger(log: Logger, digest: string, total: number) {
  let last = 0;
  return (done: number) => {
    const now = Date.now();
    if (now - last < 2000 && done < total) return;
    last = now;
    log.info({ layer: digest, bytes: done, total }, "pulling layer");
  };
}

/**
 * Runs `fn` on every item, at most `limit` at a time. After a failure no new item starts, and the
 * first error is thrown only once the running ones have settled: a failed pull must not leave
 * downloads still writing into the content store behind it.
 */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.err;
  return out;
}

/** One pull in progress and who waits for it. */
interface RunningPull {
  result: Promise<ImageRecord>;
  /** Callers still waiting; a caller without a signal waits for good. */
  waiting: number;
  abort: AbortController;
}

export class Puller {
  private readonly inflight = new Map<string, RunningPull>();

  constructor(private readonly deps: PullerDeps) {}

  /**
   * Pulls `image`, sharing a pull of the same reference already running. `signal` is the
   * caller's (its gRPC call's): when every caller of a pull has gone, the pull stops — its
   * downloads end and nothing more is unpacked or recorded.
   */
  pull(
    image: string,
    credentials?: RegistryCredentials,
    signal?: AbortSignal,
  ): Promise<ImageRecord> {
    const ref = parseReference(image);
    const key = formatReference(ref);
    let running = this.inflight.get(key);
    if (!running) {
      const abort = new AbortController();
      const result = this.run(image, credentials, abort.signal).finally(() =>
        this.inflight.delete(key),
      );
      running = { result, waiting: 0, abort };
      this.inflight.set(key, running);
    }
    const pull = running;
    pull.waiting++;
    if (signal) {
      const gone = () => {
        pull.waiting--;
        if (pull.waiting === 0) {
          this.deps.log.info({ image: key }, "every caller of this pull is gone; stopping it");
          pull.abort.abort(new UnavailableError(`pull of ${key} cancelled: no caller waits`));
        }
      };
      if (signal.aborted) gone();
      else {
        signal.addEventListener("abort", gone, { once: true });
        void pull.result.then(
          () => signal.removeEventListener("abort", gone),
          () => signal.removeEventListener("abort", gone),
        );
      }
    }
    return pull.result;
  }

  private async run(
    image: string,
    credentials: RegistryCredentials | undefined,
    signal: AbortSignal,
  ): Promise<ImageRecord> {
    const { client, content, snapshots, images, metrics } = this.deps;
    const ref = parseReference(image);
    const log = this.deps.log.child({ image: formatReference(ref) });
    const started = Date.now();
    let release: (() => void) | undefined;
    try {
      const fetched = await fetchImage(client, ref, credentials ? { credentials } : {});
      signal.throwIfAborted();
      const diffIds = fetched.config.value.rootfs.diff_ids;
      if (diffIds.length !== fetched.layers.length) {
        throw new Error(
          `image config lists ${diffIds.length} diff ids for ${fetched.layers.length} layers`,
        );
      }
      const chains = chainIds(diffIds);
      release = images.lease(chains, [
        fetched.config.digest,
        fetched.manifest.digest,
        ...fetched.layers.map((l) => l.digest),
      ]);
      log.info({ id: fetched.config.digest, layers: fetched.layers.length }, "pulling image");

      const blobs = await mapLimit(
        fetched.layers,
        this.deps.maxConcurrentDownloads,
        async (layer, i) => {
          signal.throwIfAborted();
          if (snapshots.get(chains[i]!)) {
            metrics.layerReuse.inc();
            return undefined;
          }
          let counted = 0;
          const report = progressLogger(log, layer.digest, layer.size);
          const path = await fetchBlob(client, content, ref, layer, {
            ...(credentials ? { credentials } : {}),
            endpoint: fetched.endpoint,
            signal,
            onProgress: (done) => {
              metrics.imagePullBytes.inc(done - counted);
              counted = done;
              report(done);
            },
          });
          return path;
        },
      );
      for (const [i, layer] of fetched.layers.entries()) {
        const blob = blobs[i];
        if (blob === undefined) continue;
        signal.throwIfAborted();
        await snapshots.prepare({
          parent: i === 0 ? null : chains[i - 1]!,
          diffId: diffIds[i]!,
          blob,
          mediaType: layer.mediaType,
        });
      }
      await content.writeBytes(fetched.config.digest, fetched.config.bytes);
      await content.writeBytes(fetched.manifest.digest, fetched.manifest.bytes);

      signal.throwIfAborted();
      const tag = repoTag(ref);
      const size = fetched.config.bytes.length + fetched.layers.reduce((sum, l) => sum + l.size, 0);
      const rec = await images.add({
        version: 1,
        id: fetched.config.digest,
        repoTags: tag !== undefined ? [tag] : [],
        repoDigests: [repoDigest(ref, fetched.manifestDigest)],
        size: String(size),
        config: fetched.config.value,
        manifestDigest: fetched.manifest.digest,
        manifestMediaType: fetched.manifest.value.mediaType ?? "",
        layers: fetched.layers.map((l, i) => ({
          digest: l.digest,
          size: l.size,
          mediaType: l.mediaType,
          diffId: diffIds[i]!,
          chainId: chains[i]!,
        })),
        topChainId: chains[chains.length - 1] ?? "",
        pulledAt: nowNs().toString(),
      });
      const seconds = (Date.now() - started) / 1000;
      metrics.imagePulls.inc({ result: "success" });
      metrics.imagePullDuration.observe(seconds);
      log.info({ id: rec.id, seconds }, "image pulled");
      return rec;
    } catch (err) {
      metrics.imagePulls.inc({ result: "failure" });
      log.warn({ err: errorMessage(err) }, "pull failed");
      throw err;
    } finally {
      release?.();
    }
  }
}
