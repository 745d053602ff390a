// Marks a directory as the top of unrelated directory trees (ext2/3/4's `T` attribute,
// FS_TOPDIR_FL), so that the kernel's Orlov allocator spreads its subdirectories over the file
// system's block groups instead of packing them next to it.
//
// Why berth wants it for its snapshot store: each snapshot is an independent tree, made and
// removed whole. Packed into one block group, a pull that follows the removal of an image
// allocates its inodes where thousands were just freed. On ext4 without a journal the kernel
// then checks every free inode it passes for a deletion in the last ~30 s (`recently_deleted`),
// and each file create took ~0.3 ms instead of ~10 us (measured on this project's build host).
// The flag is only a placement hint: file systems without it (xfs, btrfs, tmpfs) refuse it,
// and berth carries on as before.
import type { Logger } from "../log.js";
import { type CommandRunner } from "./command.js";

export interface TopDirectoryTools {
  /** e2fsprogs' chattr. */
  chattr: string;
}

export const DEFAULT_TOP_DIRECTORY_TOOLS: TopDirectoryTools = { chattr: "chattr" };

/**
 * Sets the `T` attribute on `dir`. Never fails: returns whether the file system took the flag,
 * and logs why not at debug level.
 */
export async function markTopDirectory(
  runner: CommandRunner,
  dir: string,
  log: Logger,
  tools: TopDirectoryTools = DEFAULT_TOP_DIRECTORY_TOOLS,
): Promise<boolean> {
  try {
    const r = await runner.run(tools.chattr, ["+T", dir], { timeoutMs: 10_000 });
    if (r.code === 0) return true;
    const reason = r.stderr.toString("utf8").trim() || `exit status ${String(r.code)}`;
    log.debug(
      { dir, reason },
      "the file system keeps no top-directory flag; subdirectories stay packed",
    );
  } catch (err) {
    log.debug({ dir, err }, "cannot run chattr; subdirectories stay packed");
  }
  return false;
}
