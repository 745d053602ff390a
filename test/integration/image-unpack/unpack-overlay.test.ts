// Three layers (gzip, zstd, plain tar) unpacked into snapshots and mounted with overlayfs: the
// merged tree must be exactly what the layers describe, whiteouts and opaque dirs included.
import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { mountOverlay, unmount } from "../../../src/image/overlay-mount.js";
import { SnapshotStore, type SnapshotInfo } from "../../../src/image/snapshots.js";
import { silentLogger } from "../../../src/log.js";
import { isMountPoint } from "../../../src/runtime/sandbox/pod-files.js";
import { ProcessRunner } from "../../../src/util/command.js";
import {
  MTIME,
  buildTar,
  describeTree,
  requireUnpackHost,
  writeBlob,
  type FixtureCompression,
  type FixtureEntry,
} from "./layer-fixtures.js";

const LAYER1: FixtureEntry[] = [
  { name: "etc/" },
  { name: "etc/passwd", content: "root:x:0:0\n" },
  { name: "etc/keep", content: "keep" },
  { name: "home/user/", mode: 0o700, uid: 1000, gid: 1000 },
  { name: "home/user/.profile", content: "p", mode: 0o600, uid: 1000, gid: 1000 },
  { name: "usr/bin/su", content: "su", mode: 0o4755 },
  { name: "usr/bin/tool", content: "tool", mode: 0o755 },
  { name: "usr/bin/tool-link", type: "link", linkname: "usr/bin/tool" },
  { name: "bin", type: "symlink", linkname: "usr/bin" },
  { name: "var/cache/a", content: "a" },
  { name: "var/cache/sub/c", content: "c" },
  { name: "old/file", content: "x" },
  { name: "tmp/", mode: 0o1777 },
  { name: "srv/", mode: 0o2775, gid: 1000 },
  { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
  { name: "run/fifo", type: "fifo", mode: 0o600 },
];

const LAYER2: FixtureEntry[] = [
  { name: "etc/.wh.keep", content: "" },
  { name: ".wh.old", content: "" },
  { name: "var/cache/.wh..wh..opq", content: "" },
  { name: "var/cache/new", content: "new" },
  { name: "etc/passwd", content: "root:x:0:0\nuser:x:1000:1000\n" },
  { name: "usr/bin/new", content: "n", mode: 0o755, uid: 1000, gid: 1000 },
  { name: "usr/bin/new-hl", type: "link", linkname: "./usr/bin/new" },
];

const LAYER3: FixtureEntry[] = [
  { name: "old/again", content: "again" },
  { name: "home/user/.wh..profile", content: "" },
  { name: "etc/motd", type: "symlink", linkname: "../usr/share/motd" },
  { name: "usr/share/motd", content: "hello" },
];

const MERGED = [
  "bin 0777 0:0 -> usr/bin",
  "dev 0755 0:0 dir",
  "dev/null 0666 0:0 char 1:3",
  "etc 0755 0:0 dir",
  "etc/motd 0777 0:0 -> ../usr/share/motd",
  'etc/passwd 0644 0:0 file "root:x:0:0\\nuser:x:1000:1000\\n" nlink=1',
  "home 0755 0:0 dir",
  "home/user 0700 1000:1000 dir",
  "old 0755 0:0 dir",
  'old/again 0644 0:0 file "again" nlink=1',
  "run 0755 0:0 dir",
  "run/fifo 0600 0:0 fifo",
  "srv 2775 0:1000 dir",
  "tmp 1777 0:0 dir",
  "usr 0755 0:0 dir",
  "usr/bin 0755 0:0 dir",
  'usr/bin/new 0755 1000:1000 file "n" nlink=2',
  'usr/bin/new-hl 0755 1000:1000 file "n" nlink=2',
  'usr/bin/su 4755 0:0 file "su" nlink=1',
  'usr/bin/tool 0755 0:0 file "tool" nlink=2',
  'usr/bin/tool-link 0755 0:0 file "tool" nlink=2',
  "usr/share 0755 0:0 dir",
  'usr/share/motd 0644 0:0 file "hello" nlink=1',
  "var 0755 0:0 dir",
  "var/cache 0755 0:0 dir",
  'var/cache/new 0644 0:0 file "new" nlink=1',
];

// Both ways berthd mounts: its own mount(2) calls, and mount(8) where those cannot load.
for (const [how, runner] of [
  ["mount(2) calls", new ProcessRunner()],
  ["mount(8)", new ProcessRunner({ directMounts: false })],
] as const) {
  describe(`image unpack: layers into overlay snapshots, ${how} (root)`, function () {
    it("mounts the way it says", function () {
      expect(runner.mounts() !== undefined).to.equal(how === "mount(2) calls");
    });

    let tmp: string;
    let store: SnapshotStore;
    let mounts: string[];

    beforeEach(async function () {
      await requireUnpackHost(this);
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-unpack-"));
      store = await SnapshotStore.open({
        root: path.join(tmp, "state"),
        runner,
        logger: silentLogger(),
      });
      mounts = [];
    });

    afterEach(async function () {
      for (const m of mounts.reverse()) await unmount(m, runner);
      if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    });

    async function prepareStack(compressions: FixtureCompression[]): Promise<SnapshotInfo[]> {
      const layers = [LAYER1, LAYER2, LAYER3];
      const out: SnapshotInfo[] = [];
      let parent: string | null = null;
      for (const [i, entries] of layers.entries()) {
        const c = compressions[i] ?? "none";
        const b = await writeBlob(tmp, `layer${i}`, await buildTar(entries), c);
        const s = await store.prepare({
          parent,
          diffId: b.diffId,
          blob: b.blob,
          mediaType: b.mediaType,
        });
        out.push(s);
        parent = s.chainId;
      }
      return out;
    }

    async function mountStack(top: string, withUpper: boolean): Promise<string> {
      const target = path.join(tmp, `merged-${mounts.length}`);
      await fs.mkdir(target);
      const upper = withUpper
        ? { upperDir: path.join(tmp, "upper"), workDir: path.join(tmp, "work") }
        : {};
      if (withUpper) {
        await fs.mkdir(path.join(tmp, "upper"));
        await fs.mkdir(path.join(tmp, "work"));
      }
      await mountOverlay({ lowerDirs: store.lowerDirs(top), target, runner, ...upper });
      mounts.push(target);
      return target;
    }

    for (const order of [
      ["gzip", "zstd", "none"],
      ["zstd", "none", "gzip"],
    ] as FixtureCompression[][]) {
      it(`merges three layers (${order.join(", ")}) into the exact expected tree`, async function () {
        const snaps = await prepareStack(order);
        const top = snaps[2]!;
        const merged = await mountStack(top.chainId, true);
        expect(await describeTree(merged)).to.deep.equal(MERGED);
        // The hardlinks really share an inode in the merged view.
        const [a, b] = await Promise.all(
          ["usr/bin/tool", "usr/bin/tool-link"].map((p) => fs.stat(path.join(merged, p))),
        );
        expect(a!.ino).to.equal(b!.ino);
        expect((await fs.lstat(path.join(merged, "usr/bin/su"))).mtime.getTime()).to.equal(
          MTIME.getTime(),
        );
        // The container can write; its changes land in the upper dir only.
        await fs.writeFile(path.join(merged, "etc/passwd"), "changed");
        expect(await fs.readFile(path.join(snaps[1]!.fsDir, "etc/passwd"), "utf8")).to.include(
          "user:x",
        );
      });
    }

    it("stores each layer the overlayfs way: whiteout devices, opaque xattr, dir mtimes", async function () {
      const [l1, l2] = await prepareStack(["gzip", "zstd", "none"]);
      const keep = await fs.lstat(path.join(l2!.fsDir, "etc/keep"));
      expect(keep.isCharacterDevice()).to.equal(true);
      expect(keep.rdev).to.equal(0);
      expect((await fs.lstat(path.join(l2!.fsDir, "old"))).isCharacterDevice()).to.equal(true);
      const xattr = await runner.run("getfattr", [
        "-h",
        "--only-values",
        "-n",
        "trusted.overlay.opaque",
        path.join(l2!.fsDir, "var/cache"),
      ]);
      expect(xattr.stdout.toString()).to.equal("y");
      // Directory mtimes are set after their content was written.
      expect((await fs.lstat(path.join(l1!.fsDir, "etc"))).mtime.getTime()).to.equal(
        MTIME.getTime(),
      );
      expect((await fs.lstat(path.join(l1!.fsDir, "home/user"))).mtime.getTime()).to.equal(
        MTIME.getTime(),
      );
      // Content bytes of layer 1's regular files; the hardlink adds none.
      expect(l1!.size).to.equal(25n);
    });

    it("mounts read-only without an upper dir: overlay for a stack, bind for one layer", async function () {
      const snaps = await prepareStack(["none", "none", "none"]);
      const stack = await mountStack(snaps[2]!.chainId, false);
      expect(await describeTree(stack)).to.deep.equal(MERGED);
      await expectReadOnly(path.join(stack, "newfile"));
      const single = await mountStack(snaps[0]!.chainId, false);
      expect(await fs.readFile(path.join(single, "etc/keep"), "utf8")).to.equal("keep");
      await expectReadOnly(path.join(single, "newfile"));
    });

    it("mounts a single layer with an upper dir", async function () {
      const snaps = await prepareStack(["gzip", "gzip", "gzip"]);
      const merged = await mountStack(snaps[0]!.chainId, true);
      expect(await fs.readFile(path.join(merged, "etc/keep"), "utf8")).to.equal("keep");
      await fs.writeFile(path.join(merged, "hello"), "w");
      expect(await fs.readFile(path.join(tmp, "upper/hello"), "utf8")).to.equal("w");
    });

    it("unmounts what is mounted, and a path that is not mounted without an error", async function () {
      const snaps = await prepareStack(["none", "none", "none"]);
      const stack = await mountStack(snaps[2]!.chainId, false);
      await unmount(stack, runner);
      expect(await isMountPoint(stack)).to.equal(false);
      await unmount(stack, runner);
      await unmount(path.join(tmp, "missing"), runner);
    });
  });
}

async function expectReadOnly(p: string): Promise<void> {
  let code: unknown;
  try {
    await fs.writeFile(p, "x");
  } catch (err) {
    code = (err as NodeJS.ErrnoException).code;
  }
  expect(code).to.equal("EROFS");
}
