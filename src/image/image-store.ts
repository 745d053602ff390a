// Pulled images: one record per image id (the config digest, as containerd), with every tag and
// repo digest that names it. Lookup by tag, digest reference, id, or id prefix. Removing an image
// drops all its names; its snapshots and blobs go once no image and no container uses them.
import { NotFoundError, errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import { RecordStore, jsonCodec } from "../store/record-store.js";
import { KeyedMutex } from "../store/keyed-mutex.js";
import type { ContentStore } from "./content-store.js";
import { formatReference, parseReference, referenceName } from "./reference.js";
import type { ImageConfig } from "./registry/manifest.js";
import type { SnapshotStore } from "./snapshots.js";

export interface ImageLayerRecord {
  digest: string;
  size: number;
  mediaType: string;
  diffId: string;
  chainId: string;
}

export interface ImageRecord {
  version: 1;
  /** `sha256:<config digest>`. */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** Bytes of the image's content as pulled (config + layer blobs), decimal. */
  size: string;
  config: ImageConfig;
  manifestDigest: string;
  manifestMediaType: string;
  layers: ImageLayerRecord[];
  topChainId: string;
  pulledAt: string;
}

const HEX_ID = /^[0-9a-f]{1,64}$/;

export class ImageStore {
  readonly records: RecordStore<ImageRecord>;
  /**
   * add and remove read records, then write them: one at a time, or two pulls of one image
   * (by tag and by digest) finishing together would each save their own names over the other's.
   */
  private readonly changes = new KeyedMutex();
  /** Snapshots and blobs of pulls in progress: not yet named by any record, yet not garbage. */
  private readonly leases = new Set<{ chains: readonly string[]; blobs: readonly string[] }>();

  constructor(
    dir: string,
    private readonly content: ContentStore,
    private readonly snapshots: SnapshotStore,
    private readonly log: Logger,
  ) {
    this.records = new RecordStore<ImageRecord>(
      dir,
      "image",
      jsonCodec((raw) => {
        const r = raw as Partial<ImageRecord>;
        return r.version === 1 && typeof r.id === "string" ? (r as ImageRecord) : undefined;
      }),
    );
  }

  async load(): Promise<void> {
    await this.records.load(this.log);
  }

  list(): ImageRecord[] {
    return this.records.list();
  }

  /** The image a name, digest reference, id or unique id prefix names; undefined if none. */
  find(image: string): ImageRecord | undefined {
    if (image === "") return undefined;
    const bare = image.startsWith("sha256:") ? image.slice(7) : image;
    if (HEX_ID.test(bare)) {
      const exact = this.records.get(`sha256:${bare}`);
      if (exact) return exact;
      if (bare.length >= 12 || image.startsWith("sha256:")) {
        const byPrefix = this.list().filter((r) => r.id.slice(7).startsWith(bare));
        if (byPrefix.length === 1) return byPrefix[0];
      }
    }
    let full: string;
    try {
      const ref = parseReference(image);
      full =
        ref.digest !== undefined ? `${referenceName(ref)}@${ref.digest}` : formatReference(ref);
    } catch {
      return undefined;
    }
    for (const r of this.records.peek()) {
      if (r.repoTags.includes(full) || r.repoDigests.includes(full)) return structuredClone(r);
    }
    return undefined;
  }

  resolve(image: string): ImageRecord {
    const r = this.find(image);
    if (!r) throw new NotFoundError(`image "${image}" not found`);
    return r;
  }

  /**
   * Saves a pulled image: its names move to it from any other image that had them (a tag that
   * now points elsewhere).
   */
  add(rec: ImageRecord): Promise<ImageRecord> {
    return this.changes.run("images", () => this.addNow(rec));
  }

  private async addNow(rec: ImageRecord): Promise<ImageRecord> {
    for (const other of this.records.list()) {
      if (other.id === rec.id) continue;
      const tags = other.repoTags.filter((t) => !rec.repoTags.includes(t));
      if (tags.length !== other.repoTags.length) {
        await this.records.update(other.id, (o) => {
          o.repoTags = tags;
        });
      }
    }
    const existing = this.records.get(rec.id);
    const merged: ImageRecord = existing
      ? {
          ...rec,
          repoTags: [...new Set([...existing.repoTags, ...rec.repoTags])],
          repoDigests: [...new Set([...existing.repoDigests, ...rec.repoDigests])],
        }
      : rec;
    await this.records.put(merged);
    return merged;
  }

  /** Removes an image and every name of it; idempotent. */
  remove(image: string, inUseChainIds: ReadonlySet<string>): Promise<void> {
    return this.changes.run("images", async () => {
      const rec = this.find(image);
      if (!rec) return;
      await this.records.delete(rec.id);
      await this.collectGarbage(inUseChainIds);
    });
  }

  /**
   * Keeps a pull's snapshots (its whole chain, reused ones too) and blobs from garbage collection
   * until the returned function is called, so that removing another image that shares them while
   * the pull runs does not delete them under it.
   */
  lease(chains: readonly string[], blobs: readonly string[]): () => void {
    const l = { chains: [...chains], blobs: [...blobs] };
    this.leases.add(l);
    return () => {
      this.leases.delete(l);
    };
  }

  /**
   * Finds an image and leases its snapshots for a container being created, whose record does
   * not name them yet: a RemoveImage meanwhile removes the image's names but not the snapshots
   * under the new container. Taken in turn with removals, so a removal's collection either
   * finished before (the image is then not found) or sees the lease.
   */
  leaseForContainer(image: string): Promise<{ rec: ImageRecord; release: () => void } | undefined> {
    return this.changes.run("images", () => {
      const rec = this.find(image);
      if (!rec) return Promise.resolve(undefined);
      return Promise.resolve({ rec, release: this.lease([rec.topChainId], []) });
    });
  }

  /** How many leases are held (pulls and containers being created), for tests. */
  get leaseCount(): number {
    return this.leases.size;
  }

  /**
   * Frees snapshots no image or container uses (top-down, as a snapshot cannot go before its
   * children) and blobs no image references.
   */
  async collectGarbage(inUseChainIds: ReadonlySet<string>): Promise<void> {
    const keepChains = new Set<string>();
    const keepBlobs = new Set<string>();
    const markChain = (top: string) => {
      for (
        let c: string | null = top;
        c !== null && !keepChains.has(c);
        c = this.snapshots.get(c)?.parent ?? null
      ) {
        keepChains.add(c);
      }
    };
    for (const r of this.records.peek()) {
      markChain(r.topChainId);
      keepBlobs.add(r.config ? r.id : "");
      keepBlobs.add(r.manifestDigest);
      for (const l of r.layers) keepBlobs.add(l.digest);
    }
    for (const c of inUseChainIds) markChain(c);
    for (const l of this.leases) {
      for (const c of l.chains) markChain(c);
      for (const b of l.blobs) keepBlobs.add(b);
    }
    const doomed = this.snapshots.list().filter((s) => !keepChains.has(s.chainId));
    // Children before parents: a child's chain is longer, so sort by depth, deepest first.
    const depth = (id: string): number => {
      let n = 0;
      for (let c: string | null = id; c !== null; c = this.snapshots.get(c)?.parent ?? null) n++;
      return n;
    };
    doomed.sort((a, b) => depth(b.chainId) - depth(a.chainId));
    for (const s of doomed) {
      try {
        await this.snapshots.remove(s.chainId);
      } catch (err) {
        this.log.warn({ chainId: s.chainId, err: errorMessage(err) }, "cannot remove snapshot");
      }
    }
    for (const digest of await this.content.list()) {
      if (!keepBlobs.has(digest)) await this.content.delete(digest);
    }
  }
}
