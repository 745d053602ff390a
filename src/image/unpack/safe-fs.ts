// File system steps of the unpacker that must never leave the snapshot root. Every parent of an
// entry is checked with lstat, one component at a time: a symlink (made by an earlier entry)
// is never followed, so a layer cannot redirect later entries onto the host (CVE-2021-32760,
// CVE-2024-5154). The unpacker is the only writer of its fresh directory, so nothing can swap a
// checked component for a symlink between the check and the use. For the same reason a
// directory once checked (or made) stays one until the unpacker itself replaces it: `KnownDirs`
// remembers them, so the entries of one directory cost one lstat of it, not one each.
import type { Stats } from "node:fs";
import * as path from "node:path";
import { asyncFs, type UnpackFs } from "./unpack-fs.js";
import { UnsafeLayerEntryError } from "./unsafe-entry-error.js";

/** Real directories (components joined by "/") the unpacker has checked or made in its root. */
export class KnownDirs {
  private readonly dirs = new Set<string>();
  has(components: readonly string[]): boolean {
    return this.dirs.has(components.join("/"));
  }
  add(components: readonly string[]): void {
    this.dirs.add(components.join("/"));
  }
  /** `components` (and so everything below it) is about to go. */
  forget(components: readonly string[]): void {
    const key = components.join("/");
    this.dirs.delete(key);
    for (const d of this.dirs) if (d.startsWith(key + "/")) this.dirs.delete(d);
  }
}

export async function lstatOrUndefined(
  p: string,
  fs: UnpackFs = asyncFs,
): Promise<Stats | undefined> {
  return fs.lstat(p);
}

/**
 * Makes sure `dirComponents` exist below `root` as real directories, creating missing ones
 * (mode 0755 for now; the caller gives them their final metadata). Refuses a component that is
 * a symlink or not a directory. Returns the components of each directory it created, in order.
 */
export async function ensureDirs(
  root: string,
  dirComponents: readonly string[],
  entry: string,
  fs: UnpackFs = asyncFs,
  known?: KnownDirs,
): Promise<string[][]> {
  const created: string[][] = [];
  if (known?.has(dirComponents)) return created;
  let current = root;
  for (const [i, c] of dirComponents.entries()) {
    current = path.join(current, c);
    const st = await fs.lstat(current);
    if (st === undefined) {
      await fs.mkdir(current, 0o755);
      await fs.chmod(current, 0o755); // mkdir's mode passed through the umask
      created.push(dirComponents.slice(0, i + 1));
    } else if (st.isSymbolicLink()) {
      throw new UnsafeLayerEntryError(entry, `parent ${rel(root, current)} is a symlink`);
    } else if (!st.isDirectory()) {
      throw new UnsafeLayerEntryError(entry, `parent ${rel(root, current)} is not a directory`);
    }
  }
  known?.add(dirComponents);
  return created;
}

/** Like ensureDirs but creates nothing: every component must already be a real directory. */
export async function checkDirs(
  root: string,
  dirComponents: readonly string[],
  entry: string,
  fs: UnpackFs = asyncFs,
  known?: KnownDirs,
): Promise<void> {
  if (known?.has(dirComponents)) return;
  let current = root;
  for (const c of dirComponents) {
    current = path.join(current, c);
    const st = await fs.lstat(current);
    if (st === undefined) {
      throw new UnsafeLayerEntryError(entry, `${rel(root, current)} does not exist in the layer`);
    }
    if (st.isSymbolicLink()) {
      throw new UnsafeLayerEntryError(entry, `parent ${rel(root, current)} is a symlink`);
    }
    if (!st.isDirectory()) {
      throw new UnsafeLayerEntryError(entry, `parent ${rel(root, current)} is not a directory`);
    }
  }
  known?.add(dirComponents);
}

/** Whether `components` below `root` name a real directory reached without any symlink. */
export async function isDirIn(
  root: string,
  components: readonly string[],
  fs: UnpackFs = asyncFs,
): Promise<boolean> {
  let current = root;
  for (const c of components) {
    current = path.join(current, c);
    const st = await fs.lstat(current);
    if (st === undefined || !st.isDirectory()) return false;
  }
  return true;
}

/**
 * Clears the way for a new entry at `p` (whose parents are already checked): a later entry
 * replaces an earlier one of the same name, as in tar. A directory stays when the new entry is
 * a directory too. Symlinks are unlinked, never followed. Returns the lstat of what stays.
 * `components` name `p` below the root, for `known`.
 */
export async function clearForEntry(
  p: string,
  newIsDir: boolean,
  fs: UnpackFs = asyncFs,
  known?: { dirs: KnownDirs; components: readonly string[] },
): Promise<Stats | undefined> {
  const st = await fs.lstat(p);
  if (st === undefined) return undefined;
  if (st.isDirectory()) {
    if (newIsDir) return st;
    known?.dirs.forget(known.components);
    await fs.rmTree(p);
  } else {
    await fs.unlink(p);
  }
  return undefined;
}

/**
 * The directory at `components` in the first of `roots` that has one, reached without following
 * any symlink (a symlinked component in a lower layer ends the search in that layer).
 */
export async function findDirIn(
  roots: readonly string[],
  components: readonly string[],
  fs: UnpackFs = asyncFs,
): Promise<Stats | undefined> {
  for (const root of roots) {
    let current = root;
    let st: Stats | undefined;
    for (const c of components) {
      current = path.join(current, c);
      st = await fs.lstat(current);
      if (st === undefined || !st.isDirectory()) break;
    }
    if (st?.isDirectory()) return st;
    // A lower layer that has a file, symlink or whiteout there hides the layers below it.
    if (st !== undefined) return undefined;
  }
  return undefined;
}

function rel(root: string, p: string): string {
  return path.relative(root, p) || ".";
}
