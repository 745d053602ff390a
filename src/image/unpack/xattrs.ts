// Extended attributes. Node has no setxattr, so berth runs `setfattr` (Debian package `attr`)
// through the CommandRunner. Attributes come from PAX headers (`SCHILY.xattr.<name>`).
import type { CommandRunner } from "../../util/command.js";
import { runChecked } from "../../util/command.js";

const PAX_XATTR_PREFIX = "SCHILY.xattr.";

export const OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque";

export interface Xattr {
  name: string;
  value: Buffer;
}

export interface XattrSelection {
  apply: Xattr[];
  /** Attributes left out, each with why (for a log line). */
  skipped: { name: string; reason: string }[];
}

/**
 * Picks the xattrs of one entry out of its PAX records. Overlayfs' own attributes are never
 * taken from a layer: a crafted `trusted.overlay.redirect` or `.metacopy` on a lower dir would
 * make the kernel serve other files. tar-stream decodes PAX values as UTF-8, so a binary value
 * that did not survive that decoding (U+FFFD appears) is skipped rather than written corrupted.
 */
export function selectXattrs(
  pax: Readonly<Record<string, string>> | null | undefined,
): XattrSelection {
  const result: XattrSelection = { apply: [], skipped: [] };
  if (!pax) return result;
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith(PAX_XATTR_PREFIX)) continue;
    const name = key.slice(PAX_XATTR_PREFIX.length);
    if (name === "" || !/^[a-z]+\.[^\0]+$/.test(name)) {
      result.skipped.push({ name, reason: "malformed name" });
    } else if (/^(trusted|user)\.overlay\./.test(name)) {
      result.skipped.push({ name, reason: "overlayfs metadata is never taken from a layer" });
    } else if (value.includes("\uFFFD")) {
      result.skipped.push({ name, reason: "binary value was not preserved by the tar parser" });
    } else {
      result.apply.push({ name, value: Buffer.from(value, "utf8") });
    }
  }
  return result;
}

/** The `setfattr` argument list; `-h` so a symlink itself is labelled, never its target. */
export function setfattrArgs(path: string, attr: Xattr): string[] {
  const value = attr.value.length === 0 ? "" : "0x" + attr.value.toString("hex");
  return ["-h", "-n", attr.name, "-v", value, "--", path];
}

export async function setXattr(runner: CommandRunner, path: string, attr: Xattr): Promise<void> {
  await runChecked(runner, "setfattr", setfattrArgs(path, attr));
}
