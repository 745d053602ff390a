// Overlayfs mounts of snapshot stacks. mount(2) takes its options in one page (4096 bytes), which
// absolute lowerdir paths of a 120-layer image overflow. Snapshots live side by side
// (`<root>/snapshots/<n>/fs`), so the lower dirs are passed relative to their common parent and
// mount(8) runs with that parent as its working directory: the kernel resolves relative paths
// against the caller's cwd, and "12/fs" costs 5 bytes per layer. (util-linux 2.38 passes
// relative lowerdirs through unchanged; verified by the integration tests.) Mounts whose options
// fit with absolute paths, and all unmounts, are calls of berthd's own where it can make them
// (util/mount-calls.ts).
import * as path from "node:path";
import { FailedPreconditionError, InvalidArgumentError, isErrno } from "../errors.js";
import type { CommandRunner } from "../util/command.js";
import { CommandFailedError, runChecked } from "../util/command.js";
import { MS_BIND, MS_RDONLY, MS_REMOUNT } from "../util/mount-calls.js";

/** mount(2)'s data page, less the terminating NUL. */
export const MOUNT_DATA_MAX = 4095;

export interface OverlayMountOptions {
  /** Snapshot fs dirs, topmost layer first. */
  lowerDirs: readonly string[];
  /** Writable layer; with it, workDir is required. Without both the mount is read-only. */
  upperDir?: string;
  workDir?: string;
  target: string;
  runner: CommandRunner;
}

export type MountPlan =
  | { kind: "overlay"; options: string; cwd: string | undefined }
  | { kind: "bind-ro"; source: string };

/** Decides how to mount (pure): overlay options, and the cwd their relative paths need. */
export function planOverlayMount(opts: Omit<OverlayMountOptions, "runner" | "target">): MountPlan {
  const { lowerDirs, upperDir, workDir } = opts;
  if (lowerDirs.length === 0)
    throw new InvalidArgumentError("lowerDirs", "at least one lower dir is needed");
  if ((upperDir === undefined) !== (workDir === undefined)) {
    throw new InvalidArgumentError("workDir", "upperDir and workDir go together");
  }
  for (const d of [...lowerDirs, upperDir, workDir]) {
    if (d === undefined) continue;
    if (!path.isAbsolute(d)) throw new InvalidArgumentError("lowerDirs", `${d} is not absolute`);
    if (/[,:\\\n]/.test(d))
      throw new InvalidArgumentError(
        "lowerDirs",
        `${d} has a character mount options cannot carry`,
      );
  }
  const first = lowerDirs[0] as string;
  // Overlayfs wants two lowers when there is no upper; one read-only layer is a bind mount.
  if (upperDir === undefined && lowerDirs.length === 1) return { kind: "bind-ro", source: first };
  const tail =
    upperDir !== undefined && workDir !== undefined
      ? `,upperdir=${upperDir},workdir=${workDir}`
      : "";
  const absolute = `lowerdir=${lowerDirs.join(":")}${tail}`;
  if (absolute.length <= MOUNT_DATA_MAX)
    return { kind: "overlay", options: absolute, cwd: undefined };
  const base = commonParent(lowerDirs);
  const relative = `lowerdir=${lowerDirs.map((d) => path.relative(base, d) || ".").join(":")}${tail}`;
  if (relative.length > MOUNT_DATA_MAX) {
    throw new FailedPreconditionError(
      `overlay options for ${lowerDirs.length} layers take ${relative.length} bytes, more than mount(2) accepts`,
    );
  }
  return { kind: "overlay", options: relative, cwd: base };
}

/** The deepest directory that contains all of `dirs`. */
export function commonParent(dirs: readonly string[]): string {
  const split = dirs.map((d) => path.resolve(d).split("/").filter(Boolean));
  const first = split[0] ?? [];
  let n = 0;
  while (n < first.length && split.every((s) => s[n] === first[n])) n++;
  return "/" + first.slice(0, n).join("/");
}

export async function mountOverlay(opts: OverlayMountOptions): Promise<void> {
  const plan = planOverlayMount(opts);
  const sys = opts.runner.mounts?.();
  if (plan.kind === "bind-ro") {
    if (sys) {
      await sys.mount(plan.source, opts.target, "", MS_BIND, "");
    } else {
      await runChecked(opts.runner, "mount", ["--bind", plan.source, opts.target]);
    }
    try {
      if (sys) {
        await sys.mount("", opts.target, "", MS_REMOUNT | MS_BIND | MS_RDONLY, "");
      } else {
        await runChecked(opts.runner, "mount", ["-o", "remount,bind,ro", opts.target]);
      }
    } catch (err) {
      await unmount(opts.target, opts.runner);
      throw err;
    }
    return;
  }
  // Relative lower dirs need their parent as the working directory: mount(8) gets its own,
  // where berthd's (one for all its requests) would have to change.
  if (sys && plan.cwd === undefined) {
    await sys.mount("overlay", opts.target, "overlay", 0, plan.options);
    return;
  }
  await runChecked(
    opts.runner,
    "mount",
    ["-t", "overlay", "overlay", "-o", plan.options, opts.target],
    {
      cwd: plan.cwd,
    },
  );
}

/** Unmounts `target`; a target that is not mounted (or gone) is not an error. */
export async function unmount(target: string, runner: CommandRunner): Promise<void> {
  const sys = runner.mounts?.();
  if (sys) {
    try {
      await sys.umount(target, 0);
    } catch (err) {
      if (!isErrno(err, "EINVAL") && !isErrno(err, "ENOENT")) throw err;
    }
    return;
  }
  const result = await runner.run("umount", [target]);
  if (result.code === 0) return;
  const stderr = result.stderr.toString("utf8");
  if (/not mounted|no mount point/i.test(stderr)) return;
  throw new CommandFailedError("umount", [target], result);
}
