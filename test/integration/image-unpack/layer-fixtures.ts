// Builds layer blobs in memory for the unpack tests: a tar made with tar-stream, then gzip
// (zlib), zstd (the `zstd` CLI, as registries' zstd layers come from the reference encoder) or
// nothing.
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { ProcessRunner, runChecked } from "../../../src/util/command.js";

export interface FixtureEntry {
  name: string;
  type?: tar.Header["type"];
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export type FixtureCompression = "gzip" | "zstd" | "none";

export const MEDIA_TYPES: Record<FixtureCompression, string> = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  none: "application/vnd.oci.image.layer.v1.tar",
};

export const MTIME = new Date("2023-04-05T06:07:08Z");

export async function buildTar(entries: readonly FixtureEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? (e.content !== undefined ? "file" : "directory");
    const header: Partial<tar.Header> & { name: string } = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? MTIME,
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax !== undefined) header.pax = e.pax;
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === "file") pack.entry(header, e.content ?? "", cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export function sha256(buf: Buffer): string {
  return "sha256:" + createHash("sha256").update(buf).digest("hex");
}

/** Writes the tar compressed as asked into `dir`; returns the blob path and its diff ID. */
export async function writeBlob(
  dir: string,
  name: string,
  tarball: Buffer,
  compression: FixtureCompression,
): Promise<{ blob: string; diffId: string; mediaType: string }> {
  const blob = path.join(dir, name);
  if (compression === "gzip") {
    await fs.writeFile(blob, gzipSync(tarball));
  } else if (compression === "zstd") {
    await fs.writeFile(blob + ".tar", tarball);
    await runChecked(new ProcessRunner(), "zstd", ["-q", "-f", "-o", blob, blob + ".tar"]);
    await fs.rm(blob + ".tar");
  } else {
    await fs.writeFile(blob, tarball);
  }
  return { blob, diffId: sha256(tarball), mediaType: MEDIA_TYPES[compression] };
}

/** Skips the test unless running as root with the programs unpacking needs. */
export async function requireUnpackHost(ctx: Mocha.Context): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("    skipped: unpack integration tests need root (chown, mknod, overlay mounts)");
    ctx.skip();
  }
  const runner = new ProcessRunner();
  for (const prog of ["setfattr", "mknod", "zstd", "mount"]) {
    const r = await runner.run("sh", ["-c", `command -v ${prog}`]);
    if (r.code !== 0) {
      console.log(`    skipped: ${prog} is not installed (setfattr is in the Debian package attr)`);
      ctx.skip();
    }
  }
}

/** One line per path of a tree: type, mode, owner and what it holds or points at. */
export async function describeTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const names = (await fs.readdir(path.join(root, rel))).sort();
    for (const n of names) {
      const r = rel === "" ? n : `${rel}/${n}`;
      const p = path.join(root, r);
      const st = await fs.lstat(p);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
      const head = `${r} ${mode} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        out.push(`${head} dir`);
        await walk(r);
      } else if (st.isSymbolicLink()) {
        out.push(`${head} -> ${await fs.readlink(p)}`);
      } else if (st.isFile()) {
        out.push(`${head} file ${JSON.stringify(await fs.readFile(p, "utf8"))} nlink=${st.nlink}`);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const kind = st.isCharacterDevice() ? "char" : "block";
        out.push(`${head} ${kind} ${Math.floor(st.rdev / 256) & 0xfff}:${st.rdev & 0xff}`);
      } else if (st.isFIFO()) {
        out.push(`${head} fifo`);
      } else {
        out.push(`${head} other`);
      }
    }
  }
  await walk("");
  return out;
}
