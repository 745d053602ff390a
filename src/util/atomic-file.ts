// State files are written to a temporary file in the same directory, fsynced, renamed over the
// target, and the directory fsynced: a crash leaves either the old file or the new one.
// The directory fsync is what makes the rename itself durable; without it (syncDir: false) a
// crash may still leave the old file (never a torn one: the new contents are fsynced before the
// rename). Only for writes whose loss a restart repairs. With no fsync at all (sync: false) the
// write is atomic against a crash of the process (the kernel keeps the file and the rename), not
// against a power loss: only for what describes state that a power loss ends anyway.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

export interface AtomicWriteOptions {
  /** fsync the directory after the rename (default true): the new name survives a crash. */
  syncDir?: boolean;
  /** fsync anything at all (default true); false also means no directory fsync. */
  sync?: boolean;
}

export async function writeFileAtomic(
  target: string,
  data: string | Buffer,
  mode = 0o644,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await fs.open(tmp, "wx", mode);
  try {
    await fh.writeFile(data);
    if (opts.sync ?? true) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  if ((opts.sync ?? true) && (opts.syncDir ?? true)) await fsyncDir(dir);
}

export async function writeJsonAtomic(
  target: string,
  value: unknown,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 1) + "\n", 0o644, opts);
}

export async function fsyncDir(dir: string): Promise<void> {
  const dh = await fs.open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
