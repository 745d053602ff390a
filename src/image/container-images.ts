// The image service's answer to container creation: run config and snapshot dirs of an image.
import { FailedPreconditionError, NotFoundError } from "../errors.js";
import type { ContainerImage, ImageLookup } from "../runtime/container/image-lookup.js";
import type { ImageStore } from "./image-store.js";
import type { SnapshotStore } from "./snapshots.js";

export class ContainerImages implements ImageLookup {
  constructor(
    private readonly images: ImageStore,
    private readonly snapshots: SnapshotStore,
  ) {}

  async forContainer(image: string): Promise<ContainerImage> {
    const leased = await this.images.leaseForContainer(image);
    if (!leased) throw new NotFoundError(`image "${image}" not found: pull it first`);
    const { rec, release } = leased;
    if (rec.topChainId === "") {
      release();
      throw new FailedPreconditionError(`image ${rec.id} has no layers`);
    }
    let lowerDirs: string[];
    try {
      lowerDirs = this.snapshots.lowerDirs(rec.topChainId);
    } catch (err) {
      release();
      throw err;
    }
    const c = rec.config.config ?? {};
    return {
      id: rec.id,
      ref: rec.repoDigests[0] ?? rec.id,
      config: {
        ...(c.User !== undefined ? { User: c.User } : {}),
        ...(c.Env !== undefined ? { Env: c.Env } : {}),
        ...(c.Entrypoint !== undefined ? { Entrypoint: c.Entrypoint } : {}),
        ...(c.Cmd !== undefined ? { Cmd: c.Cmd } : {}),
        ...(c.WorkingDir !== undefined ? { WorkingDir: c.WorkingDir } : {}),
        ...(c.Volumes !== undefined ? { Volumes: c.Volumes as Record<string, object> } : {}),
        ...(c.StopSignal !== undefined ? { StopSignal: c.StopSignal } : {}),
      },
      lowerDirs,
      topChainId: rec.topChainId,
      release,
    };
  }
}
