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
  /**
   * Ends the lease that keeps the snapshots while the container is made; call it once the
   * container's record (which names topChainId) is written, or the create failed.
   */
  release(): void;
}

export interface ImageLookup {
  /** Resolves a name, id or digest reference and leases its snapshots; NotFoundError when absent. */
  forContainer(image: string): Promise<ContainerImage>;
}
