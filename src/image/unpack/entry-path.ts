// Pure handling of tar entry names: cleaning them into components below the layer root, and
// recognising OCI whiteouts. No file system access here; see safe-fs.ts for that.
import { UnsafeLayerEntryError } from "./unsafe-entry-error.js";

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";

/**
 * Cleans a tar entry name (or hardlink target) into path components relative to the layer
 * root. A leading "/" or "./" is dropped (the name is read as if rooted at the layer root, the
 * way containerd does), and ".." inside the name is resolved lexically. A ".." that would climb
 * above the root is refused: no well-formed layer contains one, so it signals an attack.
 * The empty list means the root itself.
 */
export function entryComponents(name: string): string[] {
  if (name.includes("\0")) throw new UnsafeLayerEntryError(name, "name contains a NUL byte");
  const out: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (out.length === 0)
        throw new UnsafeLayerEntryError(name, "path climbs above the layer root");
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out;
}

export type WhiteoutEntry =
  /** `<dir>/.wh..wh..opq`: hide everything lower layers have in `dir`. */
  | { kind: "opaque"; dir: string[] }
  /** `<dir>/.wh.<name>`: hide `<dir>/<name>` of lower layers. */
  | { kind: "whiteout"; dir: string[]; name: string }
  /** `.wh..wh.*` other than the opaque marker: AUFS bookkeeping, ignored. */
  | { kind: "aufs-meta" };

/** Recognises whiteout entries by their last component; undefined for ordinary entries. */
export function classifyWhiteout(
  components: readonly string[],
  entry: string,
): WhiteoutEntry | undefined {
  const base = components[components.length - 1];
  if (base === undefined || !base.startsWith(WHITEOUT_PREFIX)) return undefined;
  const dir = components.slice(0, -1);
  if (base === OPAQUE_MARKER) return { kind: "opaque", dir };
  if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return { kind: "aufs-meta" };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === "" || name === "." || name === "..") {
    throw new UnsafeLayerEntryError(entry, "whiteout names no file");
  }
  return { kind: "whiteout", dir, name };
}
