// unpackLayer without root: a fake runner stands in for mknod/setfattr and `privileged: false`
// skips chown and device nodes, so the tar handling and path checks run anywhere.
import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { parseMeta } from "../../../src/image/snapshots.js";
import { LayerUnpack, unpackLayer } from "../../../src/image/unpack/unpack-layer.js";
import { UnsafeLayerEntryError } from "../../../src/image/unpack/unsafe-entry-error.js";
import { FailedPreconditionError, InvalidArgumentError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/log.js";
import type { CommandRunner, RunResult } from "../../../src/util/command.js";
import {
  buildTar,
  sha256,
  type FixtureEntry,
} from "../../integration/image-unpack/layer-fixtures.js";

/** Records calls; for mknod it leaves an empty file where the node would be. */
class FakeRunner implements CommandRunner {
  readonly calls: string[][] = [];
  async run(file: string, args: readonly string[]): Promise<RunResult> {
    this.calls.push([file, ...args]);
    if (file === "mknod") await fs.writeFile(args[3]!, "", { flag: "wx" });
    return {
      code: 0,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: Buffer.alloc(0),
      timedOut: false,
      truncated: false,
    };
  }
}

describe("image unpack: unpackLayer (no root)", function () {
  let tmp: string;
  let target: string;
  let runner: FakeRunner;

  beforeEach(async function () {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-unpack-unit-"));
    target = path.join(tmp, "fs");
    await fs.mkdir(target);
    runner = new FakeRunner();
  });

  afterEach(async function () {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  async function unpack(data: Buffer, mediaType = "application/vnd.oci.image.layer.v1.tar") {
    const blob = path.join(tmp, "blob");
    await fs.writeFile(blob, data);
    return unpackLayer({
      blob,
      mediaType,
      target,
      runner,
      logger: silentLogger(),
      privileged: false,
    });
  }

  const layer = (entries: FixtureEntry[]) => buildTar(entries);

  it("writes files, dirs and links and returns the diff ID of the uncompressed tar", async function () {
    const t = await layer([
      { name: "d/", mode: 0o750 },
      { name: "d/f", content: "hello", mode: 0o640 },
      { name: "d/l", type: "symlink", linkname: "/nowhere" },
      { name: "d/h", type: "link", linkname: "d/f" },
      { name: "big", content: Buffer.alloc(200_000, 7) },
    ]);
    // A blob labelled plain tar that is really gzip still unpacks: the bytes decide.
    const r = await unpack(gzipSync(t));
    expect(r).to.deep.equal({ diffId: sha256(t), compression: "gzip", size: 200_005n, inodes: 4 });
    expect(await fs.readFile(path.join(target, "d/f"), "utf8")).to.equal("hello");
    expect((await fs.stat(path.join(target, "d/f"))).mode & 0o7777).to.equal(0o640);
    expect((await fs.stat(path.join(target, "d"))).mode & 0o7777).to.equal(0o750);
    expect(await fs.readlink(path.join(target, "d/l"))).to.equal("/nowhere");
    expect((await fs.stat(path.join(target, "d/h"))).nlink).to.equal(2);
    expect(runner.calls).to.deep.equal([]);
  });

  it("hashes padding after the end-of-archive blocks too", async function () {
    const t = Buffer.concat([await layer([{ name: "f", content: "x" }]), Buffer.alloc(10240)]);
    expect((await unpack(t)).diffId).to.equal(sha256(t));
  });

  it("turns whiteouts into mknod 0/0 and opaque markers into setfattr calls", async function () {
    await unpack(
      await layer([
        { name: "a/.wh.b", content: "" },
        { name: "c/.wh..wh..opq", content: "" },
      ]),
    );
    expect(runner.calls).to.deep.equal([
      ["mknod", "-m", "0000", "--", path.join(target, "a/b"), "c", "0", "0"],
      [
        "setfattr",
        "-h",
        "-n",
        "trusted.overlay.opaque",
        "-v",
        "0x79",
        "--",
        path.join(target, "c"),
      ],
    ]);
  });

  it("skips device nodes without privilege but still makes fifos", async function () {
    await unpack(
      await layer([
        { name: "null", type: "character-device", devmajor: 1, devminor: 3 },
        { name: "fifo", type: "fifo", mode: 0o600 },
      ]),
    );
    expect(runner.calls).to.deep.equal([
      ["mknod", "-m", "0600", "--", path.join(target, "fifo"), "p"],
    ]);
  });

  it("throws naming the entry when a name climbs out or a parent is a symlink", async function () {
    for (const entries of [
      [{ name: "../x", content: "x" }],
      [
        { name: "l", type: "symlink", linkname: tmp } as FixtureEntry,
        { name: "l/x", content: "x" },
      ],
    ]) {
      await fs.rm(target, { recursive: true });
      await fs.mkdir(target);
      let caught: unknown;
      await unpack(await layer(entries)).catch((e: unknown) => (caught = e));
      expect(caught).to.be.instanceOf(UnsafeLayerEntryError);
      expect((caught as UnsafeLayerEntryError).entry).to.equal(entries.at(-1)!.name);
    }
    expect(await fs.readdir(tmp)).to.not.include("x");
  });

  it("refuses a non-empty target and reports corrupt blobs as failed preconditions", async function () {
    await fs.writeFile(path.join(target, "junk"), "");
    let caught: unknown;
    await unpack(await layer([])).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(InvalidArgumentError);
    await fs.rm(path.join(target, "junk"));
    caught = undefined;
    await unpack(gzipSync(await layer([{ name: "f", content: "x" }])).subarray(0, 30)).catch(
      (e: unknown) => (caught = e),
    );
    expect(caught).to.be.instanceOf(FailedPreconditionError);
    expect(String(caught)).to.include("cannot unpack layer");
  });
});

describe("image unpack: snapshot metadata", function () {
  const D1 = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
  const good = {
    version: 1,
    chainId: D1,
    parent: null,
    diffId: D1,
    size: "5",
    inodes: 1,
    created: "x",
  };

  it("accepts consistent metadata", function () {
    expect(parseMeta(good)).to.deep.equal(good);
  });

  it("rejects metadata whose chain ID does not follow from parent and diff ID", function () {
    expect(parseMeta({ ...good, chainId: "sha256:" + "1".repeat(64) })).to.equal(undefined);
    expect(parseMeta({ ...good, size: 5 })).to.equal(undefined);
    expect(parseMeta({ ...good, version: 2 })).to.equal(undefined);
    expect(parseMeta({ ...good, parent: "../x" })).to.equal(undefined);
    expect(parseMeta(null)).to.equal(undefined);
  });
});

describe("image unpack: LayerUnpack from a stream (no root)", function () {
  let tmp: string;
  let target: string;
  let runner: FakeRunner;

  beforeEach(async function () {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-unpack-unit-"));
    target = path.join(tmp, "fs");
    await fs.mkdir(target);
    runner = new FakeRunner();
  });

  afterEach(async function () {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  const layer = (entries: FixtureEntry[]) => buildTar(entries);

  it("gives dirs the tar leaves out the lower layer's mode and mtime, after every entry (streamed)", async function () {
    const lower = path.join(tmp, "lower");
    const t1 = new Date("2001-02-03T04:05:06Z");
    await fs.mkdir(path.join(lower, "a"), { recursive: true });
    await fs.mkdir(path.join(lower, "c"));
    await fs.chmod(path.join(lower, "a"), 0o750);
    await fs.utimes(path.join(lower, "a"), t1, t1);
    await fs.chmod(path.join(lower, "c"), 0o711);
    const t = await layer([
      { name: "a/b/f", content: "x" },
      { name: "c/y", content: "y" },
      // An entry of its own later in the tar wins over the lower layer.
      { name: "c/", mode: 0o700, mtime: new Date("2010-01-01T00:00:00Z") },
    ]);
    const unpack = new LayerUnpack({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      target,
      runner,
      logger: silentLogger(),
      privileged: false,
      what: "layer test",
    });
    // The bytes arrive in small pieces, as from a download, before the lower layer is known.
    const blob = gzipSync(t);
    for (let off = 0; off < blob.length; off += 3000) {
      if (!unpack.input.write(blob.subarray(off, off + 3000))) {
        await new Promise((r) => unpack.input.once("drain", r));
      }
    }
    unpack.input.end();
    await unpack.done;
    const r = await unpack.finish([lower]);
    expect(r.diffId).to.equal(sha256(t));
    const st = async (p: string) => fs.lstat(path.join(target, p));
    expect((await st("a")).mode & 0o7777).to.equal(0o750);
    expect((await st("a")).mtime.toISOString()).to.equal(t1.toISOString());
    expect((await st("a/b")).mode & 0o7777, "no lower dir: the default").to.equal(0o755);
    expect((await st("c")).mode & 0o7777).to.equal(0o700);
    expect((await st("c")).mtime.toISOString()).to.equal("2010-01-01T00:00:00.000Z");
  });

  it("an unpack whose input is destroyed mid-way fails, naming the layer", async function () {
    const t = await layer([{ name: "big", content: Buffer.alloc(1 << 20, 1) }]);
    const unpack = new LayerUnpack({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      target,
      runner,
      logger: silentLogger(),
      privileged: false,
      what: "layer cut",
    });
    unpack.input.write(t.subarray(0, 200_000));
    unpack.input.destroy(new Error("download cut"));
    let caught: unknown;
    await unpack.done.catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(FailedPreconditionError);
    expect(String(caught)).to.include("layer cut");
  });
});
