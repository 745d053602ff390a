// The snapshot store on a real file system: chain IDs, diff ID checks, sharing, concurrent
// prepares, crash leftovers, removal and usage.
import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SnapshotStore, type PrepareLayer } from "../../../src/image/snapshots.js";
import { chainIds } from "../../../src/image/unpack/chain-id.js";
import { silentLogger } from "../../../src/log.js";
import { ProcessRunner, type CommandRunner, type RunOptions } from "../../../src/util/command.js";
import { buildTar, requireUnpackHost, writeBlob } from "./layer-fixtures.js";

/** Counts the programs the unpacker runs (one mknod per whiteout here). */
class CountingRunner implements CommandRunner {
  readonly calls: string[] = [];
  private readonly real = new ProcessRunner();
  run(file: string, args: readonly string[], opts?: RunOptions) {
    this.calls.push(file);
    return this.real.run(file, args, opts);
  }
}

describe("image unpack: snapshot store (root)", function () {
  let tmp: string;
  let root: string;
  let runner: CountingRunner;
  let layers: PrepareLayer[];

  beforeEach(async function () {
    await requireUnpackHost(this);
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-snap-"));
    root = path.join(tmp, "state");
    runner = new CountingRunner();
    layers = [];
    let parent: string | null = null;
    for (let i = 0; i < 3; i++) {
      const b = await writeBlob(
        tmp,
        `blob${i}`,
        await buildTar([
          { name: `f${i}`, content: "x".repeat(1000 * (i + 1)) },
          { name: `.wh.gone${i}`, content: "" },
        ]),
        "gzip",
      );
      const diffId = b.diffId;
      layers.push({ parent, diffId, blob: b.blob, mediaType: b.mediaType });
      parent = chainIds(layers.map((l) => l.diffId)).at(-1) as string;
    }
  });

  afterEach(async function () {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  const open = (): Promise<SnapshotStore> =>
    SnapshotStore.open({ root, runner, logger: silentLogger() });

  it("keys snapshots by chain ID and records their metadata", async function () {
    const store = await open();
    const ids = chainIds(layers.map((l) => l.diffId));
    for (const l of layers) await store.prepare(l);
    const top = store.get(ids[2]!)!;
    expect(top).to.include({
      chainId: ids[2],
      parent: ids[1],
      diffId: layers[2]!.diffId,
      key: "3",
      inodes: 2,
    });
    expect(top.size).to.equal(3000n);
    expect(store.lowerDirs(ids[2]!)).to.deep.equal(
      ["3", "2", "1"].map((k) => path.join(store.dir, k, "fs")),
    );
    const meta = JSON.parse(
      await fs.readFile(path.join(store.dir, "3/meta.json"), "utf8"),
    ) as Record<string, unknown>;
    expect(meta).to.include({ chainId: ids[2], parent: ids[1], size: "3000", inodes: 2 });
  });

  it("unpacks a chain ID once, however many prepare it at the same time", async function () {
    const store = await open();
    const [a, b, c] = await Promise.all([
      store.prepare(layers[0]!),
      store.prepare(layers[0]!),
      store.prepare(layers[0]!),
    ]);
    expect(runner.calls.filter((f) => f === "mknod")).to.have.length(1);
    expect(a.key).to.equal(b.key).and.to.equal(c.key);
    await store.prepare(layers[0]!);
    expect(runner.calls.filter((f) => f === "mknod")).to.have.length(1);
    expect(store.list()).to.have.length(1);
  });

  it("refuses a layer whose tar does not hash to the config's diff ID, leaving nothing", async function () {
    const store = await open();
    const wrong = "sha256:" + "0".repeat(64);
    let caught: unknown;
    await store.prepare({ ...layers[0]!, diffId: wrong }).catch((e: unknown) => (caught = e));
    expect(String(caught)).to.include("diff ID");
    expect(await fs.readdir(store.dir)).to.deep.equal([]);
    expect(store.list()).to.deep.equal([]);
  });

  it("refuses a layer whose parent snapshot is missing", async function () {
    const store = await open();
    let caught: unknown;
    await store.prepare(layers[1]!).catch((e: unknown) => (caught = e));
    expect(String(caught)).to.match(/parent snapshot .* does not exist/);
  });

  it("marks its directory a top directory on ext2/3/4 (snapshots spread over block groups)", async function () {
    const real = new ProcessRunner();
    await fs.mkdir(root, { recursive: true });
    const fsType = (await real.run("stat", ["-f", "-c", "%T", root])).stdout.toString().trim();
    if (!fsType.startsWith("ext")) {
      console.log(`    skipped: ${root} is on ${fsType}, which has no top-directory flag`);
      this.skip();
    }
    const store = await open();
    expect(runner.calls).to.include("chattr");
    const r = await real.run("lsattr", ["-d", store.dir]);
    expect(r.code, r.stderr.toString()).to.equal(0);
    const [attrs] = r.stdout.toString().trim().split(/\s+/);
    expect(attrs, "lsattr's attribute field").to.include("T");
    // Set on every open; a second one finds it there and still opens.
    await open();
  });

  it("reloads committed snapshots and removes crash leftovers at open", async function () {
    const first = await open();
    for (const l of layers.slice(0, 2)) await first.prepare(l);
    await fs.mkdir(path.join(first.dir, ".tmp-deadbeef/fs"), { recursive: true });
    await fs.mkdir(path.join(first.dir, ".trash-1-cafe/fs"), { recursive: true });
    await fs.mkdir(path.join(first.dir, "7/fs"), { recursive: true }); // no meta.json
    const second = await open();
    expect(
      second
        .list()
        .map((s) => s.key)
        .sort(),
    ).to.deep.equal(["1", "2"]);
    expect((await fs.readdir(second.dir)).sort()).to.deep.equal(["1", "2"]);
    // Keys are never reused, not even the one of a removed leftover.
    expect((await second.prepare(layers[2]!)).key).to.equal("8");
  });

  it("removes leaf snapshots only, and reports disk usage", async function () {
    const store = await open();
    for (const l of layers) await store.prepare(l);
    const ids = chainIds(layers.map((l) => l.diffId));
    const full = await store.usage();
    let caught: unknown;
    await store.remove(ids[1]!).catch((e: unknown) => (caught = e));
    expect(String(caught)).to.include("is the parent of");
    await store.remove(ids[2]!);
    await store.remove(ids[2]!); // absent is fine
    expect(store.get(ids[2]!)).to.equal(undefined);
    expect((await fs.readdir(store.dir)).sort()).to.deep.equal(["1", "2"]);
    const less = await store.usage();
    // snapshots dir + per snapshot: dir, meta.json, fs, f<i>, whiteout = 1 + 2 * 5 inodes.
    expect(less.inodes).to.equal(11n);
    expect(full.inodes).to.equal(16n);
    expect(less.bytes < full.bytes).to.equal(true);
  });
});
