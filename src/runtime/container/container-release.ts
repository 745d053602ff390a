// What an exited container no longer needs: the OCI runtime's state (and with it the
// container's cgroup) and the rootfs mount. containerd deletes a task when it exits; berth does
// the same at StopPodSandbox, alongside CNI DEL, so RemovePodSandbox has only files left to
// remove. The record, the writable layer and the log stay until RemoveContainer.
import { unmount } from "../../image/overlay-mount.js";
import { settleAll } from "../../util/settle-all.js";
import { unmountIfMounted } from "../sandbox/pod-files.js";
import type { ContainerRecord } from "../records.js";
import type { ContainerDeps } from "../runtime-context.js";

/**
 * Deletes the runtime's state and unmounts the rootfs, side by side: the runtime's delete
 * touches its state dir and the cgroup, never the host's rootfs mount. Both tolerate what is
 * already gone, so a repeat (after a crash before `released` was written) is harmless.
 */
export async function releaseExited(ctx: ContainerDeps, rec: ContainerRecord): Promise<void> {
  const rootfs = ctx.paths.containerRootfs(rec.id);
  await settleAll([
    ctx.ociRuntime(rec.runtimeHandler).delete(rec.id, true),
    unmount(rootfs, ctx.runner).then(() => unmountIfMounted(rootfs, ctx.runner)),
  ]);
}
