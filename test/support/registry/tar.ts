// Builds tar archives in memory from plain entry lists (tar-stream), for test image layers.
import * as tar from "tar-stream";

export type TarEntryType =
  "file" | "directory" | "symlink" | "link" | "fifo" | "character-device" | "block-device";

export interface TarEntry {
  /** Path inside the archive, without a leading `/` (one is stripped if given). */
  name: string;
  type?: TarEntryType;
  content?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Target of a symlink or hard link. */
  linkname?: string;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
}

const EPOCH = new Date(0);

export function file(
  name: string,
  content: Buffer | string,
  mode = 0o644,
  owner?: { uid: number; gid: number },
): TarEntry {
  return { name, type: "file", content, mode, uid: owner?.uid, gid: owner?.gid };
}

export function dir(name: string, mode = 0o755, owner?: { uid: number; gid: number }): TarEntry {
  return { name, type: "directory", mode, uid: owner?.uid, gid: owner?.gid };
}

export function symlink(name: string, target: string): TarEntry {
  return { name, type: "symlink", linkname: target, mode: 0o777 };
}

export function hardlink(name: string, target: string): TarEntry {
  return { name, type: "link", linkname: target, mode: 0o644 };
}

/** A whiteout deleting `path` from lower layers (`dir/.wh.name`). */
export function whiteout(path: string): TarEntry {
  const i = path.lastIndexOf("/");
  const parent = i < 0 ? "" : path.slice(0, i + 1);
  return { name: `${parent}.wh.${path.slice(i + 1)}`, type: "file", content: "", mode: 0o644 };
}

/** An opaque-directory marker: `dir`'s contents from lower layers are hidden. */
export function opaque(dirPath: string): TarEntry {
  return {
    name: `${dirPath.replace(/\/+$/, "")}/.wh..wh..opq`,
    type: "file",
    content: "",
    mode: 0o644,
  };
}

/** The uncompressed tar of `entries`, in order. */
export async function makeTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    const type = e.type ?? "file";
    const content = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
    const header: tar.Header = {
      name: e.name.replace(/^\/+/, "") + (type === "directory" && !e.name.endsWith("/") ? "/" : ""),
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? EPOCH,
      linkname: e.linkname ?? "",
      uname: "",
      gname: "",
      size: 0,
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === "file") pack.entry({ ...header, size: content.length }, content, cb);
      else pack.entry({ ...header, size: 0 }, cb);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}
