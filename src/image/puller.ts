// PullImage: resolve the reference, fetch manifest and config, download the layers the snapshot
// store does not have yet (a few at a time) and unpack each while it downloads, then record the
// image. A layer's snapshot is committed once its blob is verified and its parent committed; the
// layer blob itself is not kept (the snapshot is what a container needs), the manifest and
// config are. Concurrent pulls of one reference share one run.
import type { Writable } from "node:stream";
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
  fetchImage,
  streamBlob,
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

/** At most `limit` calls of `run` at a time; the others wait in the order they came. */
class Slots {
  private busy = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.busy++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.busy--;
    }
  }
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
    if (!running || running.abort.signal.aborted) {
      // A pull whose callers have all gone is still tearing down (removing what it half
      // unpacked): a new caller gets a fresh pull once that one has settled, not its error.
      const previous = running?.result.then(
        () => undefined,
        () => undefined,
      );
      const abort = new AbortController();
      const started = previous ?? Promise.resolve();
      const fresh: RunningPull = {
        result: started.then(() => this.run(image, credentials, abort.signal)),
        waiting: 0,
        abort,
      };
      void fresh.result
        .finally(() => {
          if (this.inflight.get(key) === fresh) this.inflight.delete(key);
        })
        .catch(() => undefined);
      running = fresh;
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

      // Every layer unpacks as its bytes arrive; at most maxConcurrentDownloads download at
      // once. After a failure the others stop (`stop`), and the first error is thrown only once
      // every layer has settled: a failed pull leaves nothing writing behind it. Snapshots
      // already committed stay: each is complete and verified, and the next pull reuses them.
      const stop = new AbortController();
      const layerSignal = AbortSignal.any([signal, stop.signal]);
      const downloads = new Slots(Math.max(1, this.deps.maxConcurrentDownloads));
      // Downloads take their slots in layer order: a layer asks for one only once the layer
      // under it has its own (or has nothing to download). Unpacking goes bottom up, so the
      // lowest layers' bytes are wanted first, whichever layer's unpack is ready first.
      const takeTurn: (() => void)[] = [];
      const turnTaken = fetched.layers.map(() => new Promise<void>((r) => takeTurn.push(r)));
      let failure: { err: unknown } | undefined;
      const settled: Promise<void>[] = [];
      for (const [i, layer] of fetched.layers.entries()) {
        const feed = async (input: Writable): Promise<void> => {
          if (i > 0) await turnTaken[i - 1];
          return downloads.run(async () => {
            takeTurn[i]!();
            layerSignal.throwIfAborted();
            let counted = 0;
            const report = progressLogger(log, layer.digest, layer.size);
            await streamBlob(client, content, ref, layer, input, {
              ...(credentials ? { credentials } : {}),
              endpoint: fetched.endpoint,
              signal: layerSignal,
              onProgress: (done) => {
                metrics.imagePullBytes.inc(done - counted);
                counted = done;
                report(done);
              },
            });
          });
        };
        const task = (async () => {
          layerSignal.throwIfAborted();
          if (snapshots.get(chains[i]!)) {
            metrics.layerReuse.inc();
            return;
          }
          await snapshots.prepare({
            parent: i === 0 ? null : chains[i - 1]!,
            diffId: diffIds[i]!,
            mediaType: layer.mediaType,
            what: `layer ${layer.digest}`,
            feed,
            ...(i === 0 ? {} : { parentReady: settled[i - 1]! }),
          });
        })()
          .catch((err: unknown) => {
            failure ??= { err };
            stop.abort(err);
            throw err;
          })
          .finally(() => takeTurn[i]!()); // reused, or failed before its download
        settled.push(task);
      }
      await Promise.allSettled(settled);
      if (failure !== undefined) throw failure.err;
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
