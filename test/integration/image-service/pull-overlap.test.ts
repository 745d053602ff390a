// Issue #12, item 4: a pull unpacks each layer while it downloads and commits its snapshot as
// soon as its blob is verified and the layer under it is committed, instead of after every
// download. Seen through the CRI of a real berthd, with the registry proxy holding or corrupting
// one layer's download.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { Berthd } from "../../support/berthd.js";
import { buildImage, type BuiltImage } from "../../support/registry/image-builder.js";
import { startRegistry, type TestRegistry } from "../../support/registry/registry-server.js";
import { dir, file } from "../../support/registry/tar.js";
import { chainIds } from "../../../src/image/unpack/chain-id.js";
import { failureOf, ingestEntries, listIds, storedBlobs } from "./cri-helpers.js";
import { readSnapshots, snapshotEntries } from "./image-tree.js";

const MB = 1 << 20;

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) expect.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A held download and the function that lets it go on. */
function gate(): { until: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const p = new Promise<void>((resolve) => (open = resolve));
  return { until: p, open };
}

/** Layers of random files (gzip barely shrinks them), `sizes[i]` bytes in layer i. */
async function image(name: string, sizes: number[]): Promise<BuiltImage> {
  return buildImage({
    layers: sizes.map((n, i) => ({
      entries: [dir(`${name}-${i}`), file(`${name}-${i}/data.bin`, randomBytes(n))],
      compression: "gzip" as const,
    })),
    config: { Cmd: ["/bin/true"] },
  });
}

function blobPath(digest: string): RegExp {
  return new RegExp(`/blobs/${digest}$`);
}

describe("image service: layers unpack while the pull downloads (CRI, root)", function () {
  this.timeout(90_000);
  let reg: TestRegistry;
  let berthd: Berthd;
  const gates: { open: () => void }[] = [];

  before(async function () {
    this.timeout(60_000);
    if (process.getuid?.() !== 0) {
      console.log("      skipped: needs root (berthd unpacks as root)");
      this.skip();
    }
    reg = await startRegistry();
    berthd = await Berthd.start({ configToml: "pull_progress_timeout_seconds = 60" });
  });
  after(async () => {
    for (const g of gates) g.open();
    await berthd?.cleanup();
    await reg?.stop();
  });
  afterEach(() => {
    for (const g of gates.splice(0)) g.open();
    reg?.setFaults({});
  });

  /**
   * Pushes `t/NAME:1`, three layers of 1, 2 and 1 MiB, and makes the registry hold layer 2's
   * download halfway until the returned gate opens.
   */
  async function pushHeldAtLayer2(name: string) {
    const built = await image(name, [MB, 2 * MB, MB]);
    await reg.pusher.pushImage(`t/${name}`, built, "1");
    const chains = chainIds(built.layers.map((l) => l.diffId));
    const held = gate();
    gates.push(held);
    reg.setFaults({
      holdBlob: { path: blobPath(built.layers[1]!.digest), afterBytes: MB / 2, until: held.until },
    });
    return { built, chains, held };
  }

  /** The `.tmp-*` dirs under the snapshots dir: layers being unpacked. */
  async function unpacking(): Promise<string[]> {
    return (await snapshotEntries(berthd.root)).filter((n) => n.startsWith(".tmp-"));
  }

  it("commits layer 1's snapshot and unpacks layer 3 while layer 2 is still downloading", async () => {
    const c = berthd.client.call;
    const { built, chains, held } = await pushHeldAtLayer2("held");
    let settled = false;
    const pulling = c.PullImage({ image: { image: `${reg.host}/t/held:1` } }).finally(() => {
      settled = true;
    });

    // Layer 1 arrives whole and is committed while layer 2 is held half-way.
    await until("layer 1's snapshot", async () =>
      (await readSnapshots(berthd.root)).has(chains[0]!),
    );
    // Layer 3 arrives whole too: its files are written already, but its snapshot waits for
    // layer 2's, its parent.
    await until("layer 3 unpacked", async () => {
      for (const t of await unpacking()) {
        const f = path.join(berthd.root, "snapshots", t, "fs", "held-2", "data.bin");
        const st = await fs.stat(f).catch(() => undefined);
        if (st?.size === MB) return true;
      }
      return false;
    });
    const snaps = await readSnapshots(berthd.root);
    expect(snaps.has(chains[1]!), "layer 2 committed while held").to.equal(false);
    expect(snaps.has(chains[2]!), "layer 3 committed before its parent").to.equal(false);
    expect(await listIds(berthd)).to.not.include(built.config.digest);
    expect(settled, "PullImage answered while a layer is held").to.equal(false);

    held.open();
    expect((await pulling).image_ref).to.equal(built.config.digest);
    // The layers went through to their snapshots; only the manifest and config are stored.
    expect(await storedBlobs(berthd.root)).to.have.members([
      built.config.digest,
      built.manifest.digest,
    ]);
    const after = await readSnapshots(berthd.root);
    for (const ch of chains) expect(after.has(ch), `snapshot ${ch}`).to.equal(true);
    expect(after.get(chains[2]!)!.parent).to.equal(chains[1]);
    expect(await unpacking(), "no unfinished unpack left").to.deep.equal([]);
    await c.RemoveImage({ image: { image: `${reg.host}/t/held:1` } });
    expect((await readSnapshots(berthd.root)).size).to.equal(0);
  });

  it("a corrupted later layer leaves nothing of it; the verified layers under it stay for the retry", async () => {
    const c = berthd.client.call;
    const built = await image("bad", [MB, MB, MB]);
    await reg.pusher.pushImage("t/bad", built, "1");
    const chains = chainIds(built.layers.map((l) => l.diffId));
    const bad = built.layers[2]!;
    // Layer 3 is corrupted, and held until layers 1 and 2 are committed so that the order of
    // events is fixed: its digest fails once the layers below it are whole.
    const held = gate();
    gates.push(held);
    reg.setFaults({
      corruptBlob: blobPath(bad.digest),
      holdBlob: { path: blobPath(bad.digest), afterBytes: 1024, until: held.until },
    });
    const image1 = { image: `${reg.host}/t/bad:1` };
    const failing = failureOf(c.PullImage({ image: image1 }));
    await until("layers 1 and 2 committed", async () => {
      const s = await readSnapshots(berthd.root);
      return s.has(chains[0]!) && s.has(chains[1]!);
    });
    held.open();
    const f = await failing;
    expect(f.details).to.match(/digest/i);
    expect(f.details).to.include(bad.digest);

    // Nothing of layer 3: no snapshot, no unpack dir, no partial download, no blob.
    const snaps = await readSnapshots(berthd.root);
    expect(snaps.has(chains[2]!), "snapshot of the corrupted layer").to.equal(false);
    expect(await unpacking(), "unfinished unpack dirs").to.deep.equal([]);
    expect(await ingestEntries(berthd.root), "content/ingest").to.deep.equal([]);
    expect(await storedBlobs(berthd.root)).to.not.include(bad.digest);
    expect(await listIds(berthd)).to.not.include(built.config.digest);
    // Layers 1 and 2 are kept: complete, digest and diff ID verified, keyed by chain ID.
    expect(snaps.has(chains[0]!) && snaps.has(chains[1]!), "verified layers kept").to.equal(true);

    // The retry downloads layer 3 only.
    reg.setFaults({});
    const gets = (d: string) => reg.requestCount(blobPath(d));
    const before = built.layers.map((l) => gets(l.digest));
    expect((await c.PullImage({ image: image1 })).image_ref).to.equal(built.config.digest);
    expect(built.layers.map((l, i) => gets(l.digest) - before[i]!)).to.deep.equal([0, 0, 1]);
    await c.RemoveImage({ image: image1 });
    expect((await readSnapshots(berthd.root)).size).to.equal(0);
  });

  it("kill -9 while layers unpack in the worker: after the restart no half layer or image, and the pull completes", async () => {
    const { built, chains, held } = await pushHeldAtLayer2("crash");
    const ref = { image: `${reg.host}/t/crash:1` };
    const pulling = failureOf(berthd.client.call.PullImage({ image: ref }));
    // Layer 2 is half unpacked (held), layer 3 wholly, in .tmp dirs: kill berthd there.
    await until("layer 3 unpacked", async () => {
      for (const t of await unpacking()) {
        const f = path.join(berthd.root, "snapshots", t, "fs", "crash-2", "data.bin");
        if ((await fs.stat(f).catch(() => undefined))?.size === MB) return true;
      }
      return false;
    });
    expect((await unpacking()).length, "layers being unpacked").to.be.at.least(2);
    await berthd.kill9();
    await pulling;
    held.open();
    reg.setFaults({});
    await berthd.launch();
    expect(await unpacking(), "unfinished unpacks after the restart").to.deep.equal([]);
    expect(await ingestEntries(berthd.root), "content/ingest").to.deep.equal([]);
    expect(await listIds(berthd)).to.not.include(built.config.digest);
    const snaps = await readSnapshots(berthd.root);
    expect(snaps.has(chains[1]!) || snaps.has(chains[2]!), "a half-pulled layer").to.equal(false);
    expect((await berthd.client.call.PullImage({ image: ref })).image_ref).to.equal(
      built.config.digest,
    );
    const after = await readSnapshots(berthd.root);
    for (const ch of chains) expect(after.has(ch), `snapshot ${ch}`).to.equal(true);
    await berthd.client.call.RemoveImage({ image: ref });
  });

  it("the unpack worker thread goes once pulls stop: no thread left behind", async function () {
    this.timeout(60_000);
    const fresh = await Berthd.start({ configToml: "pull_progress_timeout_seconds = 60" });
    try {
      const threads = async (): Promise<number> =>
        (await fs.readdir(`/proc/${fresh.pid}/task`)).length;
      const before = await threads();
      const built = await image("threads", [MB, MB]);
      await reg.pusher.pushImage("t/threads", built, "1");
      const ref = { image: `${reg.host}/t/threads:1` };
      await fresh.client.call.PullImage({ image: ref });
      // Kept a while for the pulls that often follow, then ended.
      expect(await threads(), "threads just after the pull").to.be.above(before);
      await fresh.client.call.RemoveImage({ image: ref });
      await until("the worker's end", async () => (await threads()) <= before, 30_000);
    } finally {
      await fresh.cleanup();
    }
  });

  it("max_concurrent_downloads = 1: the next layer is not asked for while one downloads", async () => {
    const one = await Berthd.start({
      configToml: "pull_progress_timeout_seconds = 60\nmax_concurrent_downloads = 1",
    });
    try {
      const built = await image("one", [MB, MB]);
      await reg.pusher.pushImage("t/one", built, "1");
      const [first, second] = built.layers.map((l) => blobPath(l.digest));
      const held = gate();
      gates.push(held);
      reg.setFaults({ holdBlob: { path: first!, afterBytes: MB / 2, until: held.until } });
      const pulling = one.client.call.PullImage({ image: { image: `${reg.host}/t/one:1` } });
      await until("layer 1's download", () => Promise.resolve(reg.requestCount(first!) === 1));
      await new Promise((r) => setTimeout(r, 500));
      expect(reg.requestCount(second!), "layer 2 asked for while layer 1 downloads").to.equal(0);
      held.open();
      expect((await pulling).image_ref).to.equal(built.config.digest);
      expect(reg.requestCount(second!)).to.equal(1);
    } finally {
      await one.cleanup();
    }
  });
});
