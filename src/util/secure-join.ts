// Resolves a path inside a root directory the way the kernel would if `root` were `/`
// (the openat2 RESOLVE_IN_ROOT idea): `..` never climbs above the root, and symlinks met on the
// way, absolute or relative, are resolved relative to the root. The result always lies within
// `root`. Used for every path that comes from an image or a request (mount destinations, layer
// entries, working dirs, log paths).
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { isErrno } from "../errors.js";

const MAX_SYMLINKS = 255;

/** Splits a path into its non-empty, non-"." components. */
function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * Lexical join: cleans `unsafe` as if it were absolute and appends it to `root`. No file
 * system access; symlinks are not followed. Never escapes `root`.
 */
export function lexicalJoin(root: string, unsafe: string): string {
  const out: string[] = [];
  for (const c of components(unsafe)) {
    if (c === "..") out.pop();
    else out.push(c);
  }
  return path.join(root, ...out);
}

/**
 * Resolves `unsafe` within `root`, following symlinks (each resolved within `root`). Components
 * that do not exist yet are appended lexically. The returned path is absolute and inside
 * `root`; the final component is followed unless `followFinal` is false.
 */
export async function secureJoin(
  root: string,
  unsafe: string,
  opts: { followFinal?: boolean } = {},
): Promise<string> {
  const followFinal = opts.followFinal ?? true;
  const absRoot = path.resolve(root);
  let pending = components(unsafe);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === "..") {
      resolved.pop();
      continue;
    }
    const candidate = path.join(absRoot, ...resolved, c);
    const isFinal = pending.length === 0;
    let target: string | undefined;
    if (!isFinal || followFinal) {
      try {
        const st = await fs.lstat(candidate);
        if (st.isSymbolicLink()) target = await fs.readlink(candidate);
      } catch (err) {
        if (!isErrno(err, "ENOENT") && !isErrno(err, "ENOTDIR")) throw err;
      }
    }
    if (target === undefined) {
      resolved.push(c);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new Error(`too many symlinks resolving ${unsafe}`);
    if (target.startsWith("/")) resolved.length = 0;
    pending = [...components(target), ...pending];
  }
  return path.join(absRoot, ...resolved);
}

/** True when `p` is `root` or lies below it (lexically). */
export function isWithin(root: string, p: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}
