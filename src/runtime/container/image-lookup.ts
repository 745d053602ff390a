// What container creation needs from the image service: the image's run config and the
// snapshot dirs its rootfs is layered from.
import type { ImageConfig } from "../spec/image-config.js";

export interface ContainerImage {
  /** Image id: `sha256:<config digest>` (= ImageStatus id, PullImage image_ref). */
  id: string;
  /** A repo digest when the image has one, else the id. */
  ref: string;
  config: ImageConfig;
  /** Snapshot fs dirs, top layer first. */
  lowerDirs: string[];
  /** Chain id of the top layer: what keeps the image's snapshots alive. */
  topChainId: string;
}

export interface ImageLookup {
  /** Resolves a name, id or digest reference; NotFoundError when absent. */
  forContainer(image: string): Promise<ContainerImage>;
}
