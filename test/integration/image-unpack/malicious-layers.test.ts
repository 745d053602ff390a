// Layers that try to write outside their snapshot (CVE-2021-32760, CVE-2025-47290,
// CVE-2024-5154 and friends). Each must fail or stay confined, leave no partial snapshot, and
// leave the sentinel files outside the snapshot root exactly as they were.
import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SnapshotStore } from "../../../src/image/snapshots.js";
import { UnsafeLayerEntryError } from "../../../src/image/unpack/unsafe-entry-error.js";
import { silentLogger } from "../../../src/log.js";
import { ProcessRunner } from "../../../src/util/command.js";
import {
  buildTar,
  describeTree,
  requireUnpackHost,
  writeBlob,
  type FixtureEntry,
} from "./layer-fixtures.js";

describe("image unpack: malicious layers stay inside the snapshot (root)", function () {
  const runner = new ProcessRunner();
  let tmp: string;
  let store: SnapshotStore;
  let sentinelDir: string;
  let sentinelFile: string;
  let before: string;

  beforeEach(async function () {
    await requireUnpackHost(this);
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-evil-"));
    store = await SnapshotStore.open({
      root: path.join(tmp, "a/b/state"),
      runner,
      logger: silentLogger(),
    });
    sentinelDir = path.join(tmp, "sentinel-dir");
    sentinelFile = path.join(sentinelDir, "sentinel-file");
    await fs.mkdir(sentinelDir, { mode: 0o700 });
    await fs.writeFile(sentinelFile, "sentinel", { mode: 0o600 });
    before = await hostState();
  });

  afterEach(async function () {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  /** Everything a layer could have touched outside the snapshots dir. */
  async function hostState(): Promise<string> {
    const tree = await describeTree(sentinelDir);
    const attrs = await runner.run("getfattr", ["-h", "-d", "-m", "-", sentinelDir, sentinelFile]);
    const passwd = await fs.lstat("/etc/passwd");
    const outside = await Promise.all(
      [tmp, path.join(tmp, "a"), path.join(tmp, "a/b"), path.join(tmp, "a/b/state"), "/etc"].map(
        async (d) => `${d}: ${(await fs.readdir(d)).filter((n) => n.includes("escape")).join(",")}`,
      ),
    );
    const dirSt = await fs.lstat(sentinelDir);
    return JSON.stringify({
      tree,
      attrs: attrs.stdout.toString(),
      dir: [dirSt.mode, dirSt.uid, dirSt.gid, dirSt.mtimeMs],
      passwd: [passwd.nlink, passwd.mode, passwd.uid, passwd.size],
      outside,
    });
  }

  async function prepare(entries: FixtureEntry[], parent: string | null = null): Promise<string> {
    const b = await writeBlob(tmp, `blob-${Math.random()}`, await buildTar(entries), "gzip");
    const s = await store.prepare({
      parent,
      diffId: b.diffId,
      blob: b.blob,
      mediaType: b.mediaType,
    });
    return s.chainId;
  }

  async function expectRejected(entries: FixtureEntry[], entry: string): Promise<void> {
    let caught: unknown;
    try {
      await prepare(entries);
    } catch (err) {
      caught = err;
    }
    expect(caught, "unpack should fail").to.be.instanceOf(UnsafeLayerEntryError);
    expect((caught as UnsafeLayerEntryError).entry).to.equal(entry);
    expect((caught as Error).message).to.include(JSON.stringify(entry));
    expect(store.list()).to.deep.equal([]);
    expect(await fs.readdir(store.dir), "no partial snapshot is left").to.deep.equal([]);
    expect(await hostState()).to.equal(before);
  }

  it("refuses ../ names that climb out of the layer", async function () {
    await expectRejected(
      [
        { name: "ok", content: "x" },
        { name: "../../escape", content: "pwned" },
      ],
      "../../escape",
    );
    await expectRejected(
      [{ name: "a/../../../../escape", content: "pwned" }],
      "a/../../../../escape",
    );
  });

  it("reads absolute names as rooted in the layer, never on the host", async function () {
    const id = await prepare([{ name: "/etc/escape-abs", content: "inside" }]);
    const fsDir = store.get(id)!.fsDir;
    expect(await fs.readFile(path.join(fsDir, "etc/escape-abs"), "utf8")).to.equal("inside");
    expect(await hostState()).to.equal(before);
  });

  it("never writes through a symlink made by an earlier entry", async function () {
    await expectRejected(
      [
        { name: "evil", type: "symlink", linkname: sentinelDir },
        { name: "evil/file", content: "pwned" },
      ],
      "evil/file",
    );
    await expectRejected(
      [
        { name: "evil", type: "symlink", linkname: "../../../../../../../.." + sentinelDir },
        { name: "evil/sub/", mode: 0o777 },
      ],
      "evil/sub/",
    );
  });

  it("never chmods or chowns through a symlinked parent dir", async function () {
    await expectRejected(
      [
        { name: "evil", type: "symlink", linkname: sentinelDir },
        { name: "evil/sentinel-file", content: "pwned", mode: 0o4777, uid: 1000, gid: 1000 },
      ],
      "evil/sentinel-file",
    );
  });

  it("replaces a symlink by a later entry of the same name instead of following it", async function () {
    // CVE-2021-32760: a dir entry over a symlink must not chmod the symlink's target.
    const id = await prepare([
      { name: "s", type: "symlink", linkname: sentinelFile },
      { name: "s/", mode: 0o777, uid: 1000, gid: 1000 },
      { name: "f", type: "symlink", linkname: sentinelFile },
      { name: "f", content: "pwned", mode: 0o4777, uid: 1000, gid: 1000 },
      { name: "p", type: "symlink", linkname: sentinelFile },
      { name: "p", type: "fifo", mode: 0o777 },
    ]);
    const tree = await describeTree(store.get(id)!.fsDir);
    expect(tree).to.deep.equal([
      'f 4777 1000:1000 file "pwned" nlink=1',
      "p 0777 0:0 fifo",
      "s 0777 1000:1000 dir",
    ]);
    expect(await hostState()).to.equal(before);
  });

  it("refuses hardlinks to host files, outside the layer or through symlinks", async function () {
    await expectRejected([{ name: "h", type: "link", linkname: "/etc/passwd" }], "h");
    await expectRejected([{ name: "h", type: "link", linkname: "../../escape-x" }], "h");
    await expectRejected(
      [
        { name: "evil", type: "symlink", linkname: sentinelDir },
        { name: "h", type: "link", linkname: "evil/sentinel-file" },
      ],
      "h",
    );
  });

  it("refuses whiteouts and opaque markers through a symlinked dir", async function () {
    await expectRejected(
      [
        { name: "evil", type: "symlink", linkname: sentinelDir },
        { name: "evil/.wh.sentinel-file", content: "" },
      ],
      "evil/.wh.sentinel-file",
    );
    await expectRejected(
      [
        { name: "evil", type: "symlink", linkname: sentinelDir },
        { name: "evil/.wh..wh..opq", content: "" },
      ],
      "evil/.wh..wh..opq",
    );
  });

  it("does not follow a lower layer's symlink when a later layer writes below it", async function () {
    const lower = await prepare([{ name: "evil", type: "symlink", linkname: sentinelDir }]);
    const upper = await prepare(
      [{ name: "evil/sentinel-file", content: "pwned", mode: 0o777 }],
      lower,
    );
    expect(await describeTree(store.get(upper)!.fsDir)).to.deep.equal([
      "evil 0755 0:0 dir",
      'evil/sentinel-file 0777 0:0 file "pwned" nlink=1',
    ]);
    expect(await hostState()).to.equal(before);
  });

  it("never takes overlayfs xattrs from a layer", async function () {
    const id = await prepare([
      {
        name: "d/",
        pax: { "SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.user.ok": "yes" },
      },
    ]);
    const attrs = await runner.run("getfattr", [
      "-h",
      "-d",
      "-m",
      "-",
      path.join(store.get(id)!.fsDir, "d"),
    ]);
    expect(attrs.stdout.toString()).to.include('user.ok="yes"');
    expect(attrs.stdout.toString()).not.to.include("overlay");
  });
});
