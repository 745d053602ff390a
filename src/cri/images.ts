// ImageService: PullImage, ListImages, StreamImages, ImageStatus, RemoveImage, ImageFsInfo.
import { InvalidArgumentError } from "../errors.js";
import type { ContentStore } from "../image/content-store.js";
import type { ImageRecord, ImageStore } from "../image/image-store.js";
import type { Puller } from "../image/puller.js";
import type { SnapshotStore } from "../image/snapshots.js";
import type { Image } from "../gen/runtime/v1/Image.js";
import type { RuntimeContext } from "../runtime/runtime-context.js";
import { nowNs } from "../util/time.js";
import type { CriHandlers } from "./handlers.js";
import { chunks } from "./runtime-views.js";

export interface ImageDeps {
  images: ImageStore;
  puller: Pick<Puller, "pull">;
  content: ContentStore;
  snapshots: SnapshotStore;
  runtime: RuntimeContext;
  /** Directory reported as the image filesystem. */
  imageFsDir: string;
}

/** The image's configured user: a numeric uid goes to `uid`, a name to `username`. */
function userOf(rec: ImageRecord): Pick<Image, "uid" | "username"> {
  const user = rec.config.config?.User ?? "";
  const name = user.split(":")[0] ?? "";
  if (name === "") return { uid: null, username: "" };
  if (/^\d+$/.test(name)) return { uid: { value: name }, username: "" };
  return { uid: null, username: name };
}

export function imageView(rec: ImageRecord): Image {
  return {
    id: rec.id,
    repo_tags: rec.repoTags,
    repo_digests: rec.repoDigests,
    size: rec.size,
    ...userOf(rec),
    spec: { image: rec.id, annotations: {} },
    pinned: false,
  };
}

export function imageHandlers(deps: ImageDeps): CriHandlers {
  const { images } = deps;
  const list = (filter: string) =>
    (filter === ""
      ? images.list()
      : [images.find(filter)].filter((r): r is ImageRecord => r !== undefined)
    ).map(imageView);
  const inUseChains = () => new Set([...deps.runtime.containers.peek()].map((c) => c.topChainId));

  return {
    PullImage: async (req, { signal }) => {
      const name = req.image?.image ?? "";
      if (name === "") throw new InvalidArgumentError("image.image", "must not be empty");
      const a = req.auth;
      const rec = await deps.puller.pull(
        name,
        a
          ? {
              username: a.username,
              password: a.password,
              auth: a.auth,
              identity_token: a.identity_token,
              registry_token: a.registry_token,
            }
          : undefined,
        signal,
      );
      return { image_ref: rec.id };
    },

    ListImages: async (req) => ({ images: list(req.filter?.image?.image ?? "") }),

    StreamImages: async function* (req) {
      for (const part of chunks(list(req.filter?.image?.image ?? ""))) yield { images: part };
    },

    ImageStatus: async (req) => {
      const name = req.image?.image ?? "";
      if (name === "") throw new InvalidArgumentError("image.image", "must not be empty");
      const rec = images.find(name);
      if (!rec) return { image: null, info: {} };
      const info: Record<string, string> = {};
      if (req.verbose) {
        info.info = JSON.stringify({
          imageSpec: rec.config,
          chainID: rec.topChainId,
          manifestDigest: rec.manifestDigest,
          layers: rec.layers,
        });
      }
      return { image: imageView(rec), info };
    },

    RemoveImage: async (req) => {
      const name = req.image?.image ?? "";
      if (name === "") throw new InvalidArgumentError("image.image", "must not be empty");
      await images.remove(name, inUseChains());
      return {};
    },

    ImageFsInfo: async () => {
      const [snap, blobs] = await Promise.all([deps.snapshots.usage(), deps.content.usage()]);
      return {
        image_filesystems: [
          {
            timestamp: nowNs().toString(),
            fs_id: { mountpoint: deps.imageFsDir },
            used_bytes: { value: (snap.bytes + BigInt(blobs.bytes)).toString() },
            inodes_used: { value: (snap.inodes + BigInt(blobs.inodes)).toString() },
          },
        ],
        // Containers' writable layers share this filesystem (no split image/container fs).
        container_filesystems: [],
      };
    },
  };
}
