// Writes the entries of one layer tar into an empty snapshot directory, overlayfs style:
// whiteouts become 0/0 character devices and opaque markers become `trusted.overlay.opaque=y`.
// Ownership, modes (after chown, which clears setuid/setgid), xattrs and mtimes are kept;
// directory mtimes are set in a final pass, after their content is written. Directories the tar
// leaves out get their metadata from the lower layers in that pass too: the layers below need
// not exist while the entries are written.
import { constants as C } from "node:fs";
import * as path from "node:path";
import type { Header } from "tar-stream";
import { isErrno } from "../../errors.js";
import type { CommandRunner } from "../../util/command.js";
import { runChecked } from "../../util/command.js";
import { type EntryMeta, entryMeta, paxRecords } from "./entry-meta.js";
import { classifyWhiteout, entryComponents } from "./entry-path.js";
import { KnownDirs, checkDirs, clearForEntry, ensureDirs, findDirIn, isDirIn } from "./safe-fs.js";
import { asyncFs, type UnpackFs } from "./unpack-fs.js";
import { UnsafeLayerEntryError } from "./unsafe-entry-error.js";
import { OVERLAY_OPAQUE_XATTR, selectXattrs, setXattr } from "./xattrs.js";

type Content = AsyncIterable<unknown>;

/** What the writer logs (a pino Logger, or the unpack worker's stand-in). */
export interface UnpackLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LayerWriterOptions {
  root: string;
  runner: CommandRunner;
  logger: UnpackLog;
  /** How file system calls are made (default: asyncFs, for the main thread). */
  fs?: UnpackFs;
  /** Root may chown and make device nodes; without it owners are kept as is and devices skipped. */
  privileged: boolean;
}

export class LayerWriter {
  /** Bytes of regular file content written. */
  size = 0n;
  /** Inodes created (hardlinks add none). */
  inodes = 0;
  /** mtimes to set last, in entry order; undefined for a dir the tar left out (see finish). */
  private readonly dirTimes: { components: string[]; name: string; mtime: Date | undefined }[] = [];
  /** Dirs made for entries whose tar left them out, by path, until an entry of their own. */
  private readonly implicitDirs = new Map<string, string[]>();
  private readonly fs: UnpackFs;
  private readonly known = new KnownDirs();

  constructor(private readonly opts: LayerWriterOptions) {
    this.fs = opts.fs ?? asyncFs;
  }

  /** Writes one entry and consumes its content. After a throw the whole layer is abandoned. */
  async write(header: Header, content: Content): Promise<void> {
    await this.writeEntry(header, content);
    await drain(content);
  }

  /**
   * Final pass, once every entry is written. A dir the tar left out (whiteouts often do) gets,
   * like in containerd, owner, mode and times from the lower layer that has it, so the merged
   * view does not change that dir's metadata; `parents` are the lower layers' dirs, topmost
   * first. Then directory mtimes, now that nothing more is written inside them.
   */
  async finish(parents: readonly string[]): Promise<void> {
    const lowerTimes = new Map<string, Date>();
    for (const [key, components] of this.implicitDirs) {
      const lower = await findDirIn(parents, components, this.fs);
      // A later entry may have replaced the dir (or a dir above it) with something else.
      if (lower === undefined || !(await isDirIn(this.opts.root, components, this.fs))) continue;
      const p = this.pathOf(components); // a real dir with no symlink on the way
      if (this.opts.privileged) await this.fs.lchown(p, lower.uid, lower.gid);
      await this.fs.chmod(p, lower.mode & 0o7777);
      lowerTimes.set(key, lower.mtime);
    }
    for (const d of this.dirTimes) {
      const mtime = d.mtime ?? lowerTimes.get(d.components.join("/"));
      if (mtime === undefined) continue;
      await checkDirs(this.opts.root, d.components.slice(0, -1), d.name, this.fs, this.known);
      const p = this.pathOf(d.components);
      const st = await this.fs.lstat(p);
      if (st?.isDirectory()) await this.fs.lutimes(p, mtime);
    }
  }

  private async writeEntry(header: Header, content: Content): Promise<void> {
    const name = header.name;
    const components = entryComponents(name);
    const log = this.opts.logger;
    if (components.length === 0) {
      log.debug({ entry: name }, "layer entry for the root itself ignored");
      return;
    }
    const whiteout = classifyWhiteout(components, name);
    if (whiteout?.kind === "aufs-meta") {
      log.debug({ entry: name }, "AUFS metadata entry ignored");
      return;
    }
    if (whiteout?.kind === "opaque") {
      await this.ensureParents(whiteout.dir, name);
      const dir = this.pathOf(whiteout.dir);
      await setXattr(this.opts.runner, dir, {
        name: OVERLAY_OPAQUE_XATTR,
        value: Buffer.from("y"),
      });
      return;
    }
    if (whiteout?.kind === "whiteout") {
      await this.ensureParents(whiteout.dir, name);
      const components = [...whiteout.dir, whiteout.name];
      const p = this.pathOf(components);
      await this.clear(p, false, components);
      await this.mknod(p, ["c", "0", "0"], 0);
      this.inodes++;
      return;
    }

    await this.ensureParents(components.slice(0, -1), name);
    const p = this.pathOf(components);
    const meta = entryMeta(header);
    switch (header.type) {
      case "file":
      case "contiguous-file":
        await this.writeFile(p, meta, content, components);
        break;
      case "directory":
        await this.writeDir(p, meta, components);
        this.implicitDirs.delete(components.join("/"));
        this.dirTimes.push({ components, name, mtime: meta.mtime });
        break;
      case "symlink":
        await this.writeSymlink(p, header, meta, components);
        break;
      case "link":
        await this.writeHardlink(p, header, components);
        return; // shares the target's inode, owner, mode and xattrs
      case "character-device":
      case "block-device":
      case "fifo":
        if (!(await this.writeSpecial(p, header, meta, components))) return;
        break;
      default:
        // tar-stream reports unknown type flags as null despite its types.
        log.warn({ entry: name, type: header.type }, "layer entry of unsupported type skipped");
        return;
    }
    await this.applyXattrs(p, header);
    // A regular file got its times through its descriptor; a directory gets them last.
    if (header.type === "directory" || header.type === "file" || header.type === "contiguous-file")
      return;
    await this.fs.lutimes(p, meta.mtime);
  }

  /** clearForEntry, keeping `known` right. */
  private clear(p: string, newIsDir: boolean, components: readonly string[]) {
    return clearForEntry(p, newIsDir, this.fs, { dirs: this.known, components });
  }

  /** Creates missing parent dirs; `finish` gives them the lower layers' metadata. */
  private async ensureParents(dir: string[], name: string): Promise<void> {
    const made = await ensureDirs(this.opts.root, dir, name, this.fs, this.known);
    for (const components of made) {
      this.inodes++;
      const key = components.join("/");
      this.implicitDirs.set(key, components);
      this.dirTimes.push({ components, name, mtime: undefined });
    }
  }

  private async writeFile(
    p: string,
    meta: EntryMeta,
    content: Content,
    components: readonly string[],
  ): Promise<void> {
    // O_EXCL|O_NOFOLLOW: never opens anything that already exists, symlink or not. Most names
    // are new, so try first and clear the way only when something is there.
    const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
    let fd: number;
    try {
      fd = await this.fs.open(p, flags, 0o600);
    } catch (err) {
      if (!isErrno(err, "EEXIST")) throw err;
      await this.clear(p, false, components);
      fd = await this.fs.open(p, flags, 0o600);
    }
    this.inodes++;
    try {
      // tar-stream hands out small chunks; one writev per MiB instead of a write per chunk,
      // and no copy into a bigger buffer.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const chunk of content) {
        const buf = chunk as Buffer;
        pending.push(buf);
        pendingBytes += buf.length;
        if (pendingBytes >= WRITE_BATCH_BYTES) {
          await writeAll(this.fs, fd, pending, pendingBytes);
          this.size += BigInt(pendingBytes);
          pending = [];
          pendingBytes = 0;
        }
      }
      if (pendingBytes > 0) {
        await writeAll(this.fs, fd, pending, pendingBytes);
        this.size += BigInt(pendingBytes);
      }
      // Owner, mode (after chown, which clears setuid/setgid) and times through the descriptor:
      // no path lookups, and nothing at the path but the file just made.
      if (this.opts.privileged) await this.fs.fchown(fd, meta.uid, meta.gid);
      await this.fs.fchmod(fd, meta.mode);
      await this.fs.futimes(fd, meta.mtime);
    } finally {
      await this.fs.close(fd);
    }
  }

  private async writeDir(p: string, meta: EntryMeta, components: readonly string[]): Promise<void> {
    const existing = await this.clear(p, true, components);
    if (existing === undefined) {
      await this.fs.mkdir(p, 0o700);
      this.inodes++;
    }
    const fd = await this.fs.open(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    try {
      if (this.opts.privileged) await this.fs.fchown(fd, meta.uid, meta.gid);
      await this.fs.fchmod(fd, meta.mode);
    } finally {
      await this.fs.close(fd);
    }
    this.known.add(components);
  }

  private async writeSymlink(
    p: string,
    header: Header,
    meta: EntryMeta,
    components: readonly string[],
  ): Promise<void> {
    const target = header.linkname ?? "";
    if (target === "" || target.includes("\0")) {
      throw new UnsafeLayerEntryError(header.name, "symlink without a valid target");
    }
    await this.clear(p, false, components);
    // The target is data for the container to resolve in its own root; berth never follows it.
    await this.fs.symlink(target, p);
    this.inodes++;
    if (this.opts.privileged) await this.fs.lchown(p, meta.uid, meta.gid);
  }

  private async writeHardlink(
    p: string,
    header: Header,
    components: readonly string[],
  ): Promise<void> {
    const name = header.name;
    const linkname = header.linkname ?? "";
    let targetComponents: string[];
    try {
      targetComponents = entryComponents(linkname);
    } catch {
      throw new UnsafeLayerEntryError(
        name,
        `hardlink target ${JSON.stringify(linkname)} lies outside the layer`,
      );
    }
    if (targetComponents.length === 0) {
      throw new UnsafeLayerEntryError(name, "hardlink to the layer root");
    }
    const targetDir = targetComponents.slice(0, -1);
    await checkDirs(this.opts.root, targetDir, name, this.fs, this.known);
    const target = this.pathOf(targetComponents);
    const st = await this.fs.lstat(target);
    if (st === undefined) {
      throw new UnsafeLayerEntryError(
        name,
        `hardlink target ${JSON.stringify(linkname)} is not in the layer`,
      );
    }
    if (st.isDirectory()) {
      throw new UnsafeLayerEntryError(
        name,
        `hardlink target ${JSON.stringify(linkname)} is a directory`,
      );
    }
    if (target === p) return;
    await this.clear(p, false, components);
    // link(2) does not follow a symlink target: the new name is another link to the symlink.
    await this.fs.link(target, p);
  }

  /** Returns false when the node was skipped (no privilege to make device nodes). */
  private async writeSpecial(
    p: string,
    header: Header,
    meta: EntryMeta,
    components: readonly string[],
  ): Promise<boolean> {
    const isFifo = header.type === "fifo";
    if (!isFifo && !this.opts.privileged) {
      this.opts.logger.warn({ entry: header.name }, "device node skipped: unpacking without root");
      return false;
    }
    const kind = isFifo
      ? ["p"]
      : [
          header.type === "block-device" ? "b" : "c",
          String(header.devmajor ?? 0),
          String(header.devminor ?? 0),
        ];
    await this.clear(p, false, components);
    await this.mknod(p, kind, meta.mode & 0o777);
    this.inodes++;
    if (this.opts.privileged) await this.fs.lchown(p, meta.uid, meta.gid);
    const st = await this.fs.lstat(p);
    if (st === undefined || st.isSymbolicLink()) {
      throw new UnsafeLayerEntryError(header.name, "replaced by a symlink");
    }
    await this.fs.chmod(p, meta.mode); // after chown; the lstat above shows it is no symlink
    return true;
  }

  private async mknod(p: string, kind: string[], mode: number): Promise<void> {
    await runChecked(this.opts.runner, "mknod", [
      "-m",
      mode.toString(8).padStart(4, "0"),
      "--",
      p,
      ...kind,
    ]);
  }

  private async applyXattrs(p: string, header: Header): Promise<void> {
    const { apply, skipped } = selectXattrs(paxRecords(header));
    for (const s of skipped) {
      this.opts.logger.warn({ entry: header.name, xattr: s.name }, `xattr skipped: ${s.reason}`);
    }
    for (const attr of apply) {
      try {
        await setXattr(this.opts.runner, p, attr);
      } catch (err) {
        // Like containerd: a file system that cannot hold an attribute does not fail the pull.
        this.opts.logger.warn({ entry: header.name, xattr: attr.name, err }, "xattr not set");
      }
    }
  }

  private pathOf(components: readonly string[]): string {
    return path.join(this.opts.root, ...components);
  }
}

const WRITE_BATCH_BYTES = 1024 * 1024;

/** Writes all of `bufs` (`total` bytes) at the file position, resuming after a short write. */
async function writeAll(fs: UnpackFs, fd: number, bufs: Buffer[], total: number): Promise<void> {
  let left = bufs;
  let remaining = total;
  for (;;) {
    const bytesWritten = await fs.writev(fd, left);
    remaining -= bytesWritten;
    if (remaining <= 0) return;
    // A short write: drop what went out and write the rest.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of left) {
      if (skip >= b.length) skip -= b.length;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    left = rest;
  }
}

async function drain(content: Content): Promise<void> {
  for await (const _chunk of content) {
    // discard what the writer did not need
  }
}
