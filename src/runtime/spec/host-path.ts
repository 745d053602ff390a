// A hostPath mount whose source does not exist yet: like containerd's CRI plugin (which stats
// the source and MkdirAll's it, 0755, when it is missing), berth creates it as a directory
// owned by root with mode 0755. The path is the host's own, so the host's symlinks on the way
// (e.g. /var/run → /run) are followed as the kernel will follow them at mount time; but berth
// only ever creates plain directories under existing directories, and refuses a path that meets
// a file, a dangling symlink or a symlink loop on the way.
import { constants as fsConstants, promises as fs } from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, errorMessage, isErrno } from "../../errors.js";

const DIR_MODE = 0o755;

/** Components of an absolute path after lexical cleaning (`..` cannot climb above `/`). */
function cleanComponents(p: string): string[] {
  return path.posix
    .resolve("/", p)
    .split("/")
    .filter((c) => c !== "");
}

/**
 * Makes `hostPath` exist as a directory if nothing is there; returns the directories created
 * (outermost first). An existing path of any kind is left alone.
 */
export async function ensureHostPath(hostPath: string, field: string): Promise<string[]> {
  try {
    await fs.stat(hostPath);
    return [];
  } catch (err) {
    if (!isErrno(err, "ENOENT")) {
      throw new InvalidArgumentError(field, `cannot use ${hostPath}: ${errorMessage(err)}`);
    }
  }
  const created: string[] = [];
  let dir = "/";
  for (const c of cleanComponents(hostPath)) {
    dir = path.posix.join(dir, c);
    let st;
    try {
      // stat, not lstat: the host's own symlinks lead where the mount will lead.
      st = await fs.stat(dir);
    } catch (err) {
      if (isErrno(err, "ELOOP")) throw new InvalidArgumentError(field, `${dir}: symlink loop`);
      if (!isErrno(err, "ENOENT")) {
        throw new InvalidArgumentError(field, `cannot use ${dir}: ${errorMessage(err)}`);
      }
    }
    if (st !== undefined) {
      if (!st.isDirectory()) {
        throw new InvalidArgumentError(field, `${dir} exists and is not a directory`);
      }
      continue;
    }
    await makeDir(dir, field);
    created.push(dir);
  }
  return created;
}

/** mkdir without following a symlink in the last component: a dangling one is refused. */
async function makeDir(dir: string, field: string): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: DIR_MODE });
  } catch (err) {
    if (isErrno(err, "EEXIST")) {
      const st = await fs.lstat(dir);
      // Made by someone else meanwhile: fine if it is a directory; a dangling symlink is not.
      if (st.isDirectory()) return;
      throw new InvalidArgumentError(field, `${dir} exists and is not a directory`);
    }
    throw new InvalidArgumentError(field, `cannot create ${dir}: ${errorMessage(err)}`);
  }
  // The process umask may have narrowed the mode; open O_NOFOLLOW so a swap for a symlink
  // between mkdir and chmod cannot redirect the chmod.
  const fh = await fs.open(
    dir,
    fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW,
  );
  try {
    await fh.chmod(DIR_MODE);
  } finally {
    await fh.close();
  }
}
