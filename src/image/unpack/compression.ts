// Which decompressor a layer blob needs. The media type says what the registry claims; the
// first bytes say what the blob is. The bytes win (a mislabelled layer still unpacks, and a
// blob labelled "tar" can never smuggle data past us compressed); a disagreement is logged.
import { PassThrough, Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import { createZstdDecompressor } from "./zstd-stream.js";

export type Compression = "gzip" | "zstd" | "none";

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** The compression a layer media type announces; undefined when it is not a known layer type. */
export function compressionOfMediaType(mediaType: string): Compression | undefined {
  const mt = mediaType.trim().toLowerCase();
  if (mt.endsWith("+gzip") || mt.endsWith(".tar.gzip")) return "gzip";
  if (mt.endsWith("+zstd") || mt.endsWith(".tar.zstd")) return "zstd";
  if (mt.endsWith(".tar")) return "none";
  return undefined;
}

/** The compression the first bytes of a blob show ("none" when neither magic matches). */
export function compressionOfMagic(head: Uint8Array): Compression {
  const starts = (magic: number[]): boolean => magic.every((b, i) => head[i] === b);
  if (starts(GZIP_MAGIC)) return "gzip";
  if (starts(ZSTD_MAGIC)) return "zstd";
  return "none";
}

export function createDecompressor(compression: Compression): Transform {
  switch (compression) {
    case "gzip":
      // Bigger output chunks than the 16 KiB default: fewer hops through the tar parser.
      return createGunzip({ chunkSize: 128 * 1024 });
    case "zstd":
      return createZstdDecompressor();
    case "none":
      return new PassThrough();
  }
}
