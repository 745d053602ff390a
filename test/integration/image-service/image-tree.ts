// Reading an image's unpacked tree the way a container sees it: a read-only overlay of the
// image's snapshot dirs (found from `<root>/snapshots/<n>/meta.json`, read-only, so a running
// berthd is never disturbed), described as one sorted line per path. And an oracle that merges
// test-image layer entry lists with OCI whiteout rules, to compare against.
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { mountOverlay, unmount } from "../../../src/image/overlay-mount.js";
import type { CommandRunner } from "../../../src/util/command.js";
import type { TarEntry } from "../../support/registry/tar.js";

export interface SnapshotDir {
  key: string;
  chainId: string;
  parent: string | null;
  fsDir: string;
}

/** Every committed snapshot under `<root>/snapshots`, by chain ID. */
export async function readSnapshots(root: string): Promise<Map<string, SnapshotDir>> {
  const dir = path.join(root, "snapshots");
  const out = new Map<string, SnapshotDir>();
  for (const name of await fs.readdir(dir)) {
    if (!/^[1-9]\d*$/.test(name)) continue;
    const meta = JSON.parse(await fs.readFile(path.join(dir, name, "meta.json"), "utf8")) as {
      chainId: string;
      parent: string | null;
    };
    out.set(meta.chainId, {
      key: name,
      chainId: meta.chainId,
      parent: meta.parent,
      fsDir: path.join(dir, name, "fs"),
    });
  }
  return out;
}

/** Names in `<root>/snapshots` (committed snapshots and any leftovers). */
export async function snapshotEntries(root: string): Promise<string[]> {
  return (await fs.readdir(path.join(root, "snapshots"))).sort();
}

/** Overlay lower dirs of the stack ending at `chainId`, topmost first. */
export async function lowerDirsOf(root: string, chainId: string): Promise<string[]> {
  const snaps = await readSnapshots(root);
  const dirs: string[] = [];
  for (let id: string | null = chainId; id !== null;) {
    const s = snaps.get(id);
    if (!s) throw new Error(`snapshot ${id} not found under ${root}`);
    dirs.push(s.fsDir);
    id = s.parent;
  }
  return dirs;
}

/** Mounts the stack read-only on a temp dir, runs `fn` on it, unmounts and removes the dir. */
export async function withMountedStack<T>(
  root: string,
  chainId: string,
  runner: CommandRunner,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const lowerDirs = await lowerDirsOf(root, chainId);
  const target = await fs.mkdtemp(path.join(os.tmpdir(), "berth-test-imgtree-"));
  try {
    await mountOverlay({ lowerDirs, target, runner });
    try {
      return await fn(target);
    } finally {
      await unmount(target, runner);
    }
  } finally {
    await fs.rm(target, { recursive: true, force: true });
  }
}

function sha(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex").slice(0, 16);
}

function modeStr(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/**
 * One line per path below `dir`, sorted: `path mode uid:gid dir`, `path mode uid:gid file
 * <sha> nlink=N`, `path -> target`. Hard links show as files with the same content and nlink.
 */
export async function describeTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await fs.readdir(path.join(dir, rel))) {
      const r = rel === "" ? name : `${rel}/${name}`;
      const p = path.join(dir, r);
      const st = await fs.lstat(p);
      const who = `${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.push(`${r} -> ${await fs.readlink(p)}`);
      else if (st.isDirectory()) {
        out.push(`${r} ${modeStr(st.mode)} ${who} dir`);
        await walk(r);
      } else if (st.isFile()) {
        out.push(
          `${r} ${modeStr(st.mode)} ${who} file ${sha(await fs.readFile(p))} nlink=${st.nlink}`,
        );
      } else out.push(`${r} ${modeStr(st.mode)} ${who} other`);
    }
  };
  await walk("");
  return out.sort();
}

interface Node {
  entry: TarEntry;
  /** Paths of entries sharing this file (hard links), for nlink. */
  links: Set<string>;
}

function clean(name: string): string {
  return name.replace(/^\/+/, "").replace(/\/+$/, "");
}

function under(p: string, dir: string): boolean {
  return dir === "" || p.startsWith(`${dir}/`);
}

/**
 * The merged tree the layers should produce, as describeTree lines. Per layer: whiteouts and
 * opaque markers first hide what lower layers have, then the layer's entries land (a hard link
 * shares its target's file; a non-directory replaces whatever was at its path).
 */
export function expectedTree(layers: readonly (readonly TarEntry[])[]): string[] {
  const tree = new Map<string, Node>();
  const drop = (p: string, self: boolean): void => {
    for (const k of [...tree.keys()]) {
      if ((self && k === p) || under(k, p)) {
        tree.get(k)?.links.delete(k);
        tree.delete(k);
      }
    }
  };
  for (const layer of layers) {
    for (const e of layer) {
      const name = clean(e.name);
      const base = name.slice(name.lastIndexOf("/") + 1);
      const parent = name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : "";
      if (base === ".wh..wh..opq") drop(parent, false);
      else if (base.startsWith(".wh.")) {
        drop(parent === "" ? base.slice(4) : `${parent}/${base.slice(4)}`, true);
      }
    }
    for (const e of layer) {
      const name = clean(e.name);
      const base = name.slice(name.lastIndexOf("/") + 1);
      if (base.startsWith(".wh.")) continue;
      const type = e.type ?? "file";
      const existing = tree.get(name);
      if (type === "directory" && existing?.entry.type === "directory") {
        existing.entry = e;
        continue;
      }
      drop(name, true);
      if (type === "link") {
        const target = tree.get(clean(e.linkname ?? ""));
        if (!target) throw new Error(`hard link ${name} to a missing ${e.linkname}`);
        target.links.add(name);
        tree.set(name, target);
      } else tree.set(name, { entry: e, links: new Set([name]) });
    }
  }
  const out: string[] = [];
  for (const [p, n] of tree) {
    const e = n.entry;
    const who = `${e.uid ?? 0}:${e.gid ?? 0}`;
    const type = e.type ?? "file";
    if (type === "symlink") out.push(`${p} -> ${e.linkname ?? ""}`);
    else if (type === "directory") out.push(`${p} ${modeStr(e.mode ?? 0o755)} ${who} dir`);
    else if (type === "file") {
      const content = Buffer.from(e.content ?? "");
      out.push(
        `${p} ${modeStr(e.mode ?? 0o644)} ${who} file ${sha(content)} nlink=${n.links.size}`,
      );
    } else out.push(`${p} ${modeStr(e.mode ?? 0o644)} ${who} other`);
  }
  return out.sort();
}
