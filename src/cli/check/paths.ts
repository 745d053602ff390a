// The socket and the state directories: where they are, who may write there, how much space is
// left, and whether something already serves the socket (a running berthd).
import { constants as fsConstants, promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { BerthConfig } from "../../config/config.js";
import { errorMessage } from "../../errors.js";
import { type CheckLine, fail, ok, warn } from "./report.js";

const GiB = 1024 ** 3;
/** Below this berth can still start but image pulls soon fail. */
export const LOW_SPACE_BYTES = 2 * GiB;
/** Below this a pull of one small image may not fit. */
export const TOO_LOW_SPACE_BYTES = 256 * 1024 ** 2;

/** The directory itself, or its nearest existing ancestor (which berth would create it in). */
async function nearestExisting(dir: string): Promise<{ dir: string; exists: boolean }> {
  let cur = dir;
  for (;;) {
    try {
      await fs.stat(cur);
      return { dir: cur, exists: cur === dir };
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return { dir: cur, exists: false };
      cur = up;
    }
  }
}

function gib(bytes: number): string {
  return `${(bytes / GiB).toFixed(1)} GiB`;
}

export function spaceVerdict(item: string, detail: string, free: number): CheckLine {
  const text = `${detail}, ${gib(free)} free`;
  const fix = "free space on that file system or point berth at a larger one";
  if (free < TOO_LOW_SPACE_BYTES) return fail(item, text, fix);
  if (free < LOW_SPACE_BYTES) return warn(item, text, fix);
  return ok(item, text);
}

export async function dirLine(item: string, dir: string): Promise<CheckLine> {
  const near = await nearestExisting(dir);
  const st = await fs.stat(near.dir).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) {
    return fail(
      item,
      `${near.dir} is not a directory`,
      `remove it or choose another path for ${dir}`,
    );
  }
  try {
    await fs.access(near.dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch {
    return fail(item, `${near.dir} is not writable by this user`, "run berthd as root");
  }
  const mode = st.mode & 0o777;
  const where = near.exists
    ? `${dir} (mode ${mode.toString(8).padStart(4, "0")})`
    : `${dir} (absent; berthd creates it in ${near.dir})`;
  if (near.exists && (mode & 0o002) !== 0) {
    return warn(item, `${where} is writable by everyone`, `chmod o-w ${dir}`);
  }
  const stats = await fs.statfs(near.dir).catch((err: unknown) => errorMessage(err));
  if (typeof stats === "string")
    return warn(item, `${where}; cannot read free space: ${stats}`, "check the mount");
  return spaceVerdict(item, where, stats.bavail * stats.bsize);
}

/** True when something accepts connections on the unix socket. */
function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    const done = (v: boolean) => {
      c.destroy();
      resolve(v);
    };
    c.once("connect", () => done(true));
    c.once("error", () => done(false));
    setTimeout(() => done(false), 1000).unref();
  });
}

export async function socketLine(socket: string): Promise<CheckLine> {
  const item = "socket";
  const parent = await dirLine(item, path.dirname(socket));
  if (parent.level === "FAIL") return { ...parent, detail: `${socket}: ${parent.detail}` };
  const st = await fs.lstat(socket).catch(() => undefined);
  if (st === undefined) return ok(item, `${socket} is free; directory ${parent.detail}`);
  if (!st.isSocket()) {
    return fail(item, `${socket} exists and is not a socket`, `remove it or set listen elsewhere`);
  }
  if (await answers(socket)) {
    return warn(
      item,
      `${socket} is served by a running process (a berthd already running?)`,
      "nothing if that is this node's berthd; a second berthd on it would refuse to start",
    );
  }
  return ok(item, `${socket} (stale socket; berthd replaces it)`);
}

export async function pathLines(config: BerthConfig): Promise<CheckLine[]> {
  return Promise.all([
    socketLine(config.listen),
    dirLine("root dir", config.root),
    dirLine("state dir", config.state),
  ]);
}
