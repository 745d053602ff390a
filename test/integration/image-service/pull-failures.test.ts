// Issue #3 acceptance, failure cases and registry behaviour, through the CRI of a real berthd
// (pull_progress_timeout_seconds = 2): wrong credentials, unknown images, a corrupted blob, a
// registry that stalls or dies mid-pull (nothing half-written stays, a second pull works), ten
// concurrent pulls sharing one download, and a mirror serving a registry's name.
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { Berthd } from "../../support/berthd.js";
import { buildImage, type BuiltImage } from "../../support/registry/image-builder.js";
import { busyboxEntries } from "../../support/registry/images.js";
import { startRegistry, type TestRegistry } from "../../support/registry/registry-server.js";
import { dir, file, makeTar } from "../../support/registry/tar.js";
import {
  failureOf,
  ingestEntries,
  listIds,
  metricValue,
  storedBlobs,
  verboseInfo,
} from "./cri-helpers.js";
import { readSnapshots, snapshotEntries } from "./image-tree.js";

const PROGRESS_TIMEOUT_S = 2;
const MIRRORED = "mirror-test.invalid";
const BLOB_GET = /\/blobs\/sha256:/;

/** The busybox layer, built once: every test image here sits on it. */
interface BaseLayer {
  tar: Buffer;
  blob: Buffer;
}

async function baseLayer(): Promise<BaseLayer> {
  const tar = await makeTar(busyboxEntries());
  return { tar, blob: gzipSync(tar) };
}

/** busybox plus one layer per entry of `sizes`, each a file of that many random bytes. */
async function bulkyImage(base: BaseLayer, name: string, sizes: number[]): Promise<BuiltImage> {
  return buildImage({
    layers: [
      { tar: base.tar, rawBlob: base.blob, compression: "gzip" },
      ...sizes.map((n, i) => ({
        entries: [dir(name), file(`${name}/blob-${i}.bin`, randomBytes(n))],
      })),
    ],
    config: { Cmd: ["/bin/sh"], Labels: { "org.berth.test": name } },
  });
}

describe("image service: pull failures, concurrency and mirrors (CRI, root)", function () {
  this.timeout(60_000);
  let reg: TestRegistry;
  let authReg: TestRegistry;
  let berthd: Berthd;
  let registryDown = false;
  let base: BaseLayer;

  before(async function () {
    this.timeout(120_000);
    if (process.getuid?.() !== 0) {
      console.log("      skipped: needs root (berthd mounts and unpacks as root)");
      this.skip();
    }
    reg = await startRegistry();
    authReg = await startRegistry({ htpasswd: { user: "berth", pass: "s3cret" } });
    berthd = await Berthd.start({
      configToml: [
        `pull_progress_timeout_seconds = ${PROGRESS_TIMEOUT_S}`,
        `[registries."${MIRRORED}"]`,
        `mirrors = ["http://${reg.host}"]`,
      ].join("\n"),
    });
    base = await baseLayer();
    await reg.pusher.pushImage("t/busybox", await bulkyImage(base, "busybox", []), "1");
    // The shared base layer, so later images download only their own layers.
    await berthd.client.call.PullImage({ image: { image: `${reg.host}/t/busybox:1` } });
  });
  after(async () => {
    await berthd?.cleanup();
    await reg?.stop();
    await authReg?.stop();
  });
  afterEach(async () => {
    reg?.setFaults({});
    if (registryDown) {
      await reg.restart();
      registryDown = false;
    }
  });

  /** No image, no partial download, no new snapshot: the state a failed pull must leave. */
  async function expectNothingKept(image: BuiltImage, snapsBefore: string[]): Promise<void> {
    expect(await listIds(berthd)).to.not.include(image.config.digest);
    expect(await ingestEntries(berthd.root), "content/ingest").to.deep.equal([]);
    expect(await snapshotEntries(berthd.root), "snapshots dir").to.deep.equal(snapsBefore);
    const blobs = await storedBlobs(berthd.root);
    for (const d of [
      image.config.digest,
      image.manifest.digest,
      ...image.layers.slice(1).map((l) => l.digest),
    ]) {
      expect(blobs, `blob ${d}`).to.not.include(d);
    }
  }

  it("wrong or missing credentials: UNAUTHENTICATED naming the registry; right ones pull", async () => {
    const c = berthd.client.call;
    const built = await bulkyImage(base, "private", [1024]);
    await authReg.pusher.pushImage("t/private", built, "1");
    const image = { image: `${authReg.host}/t/private:1` };
    for (const auth of [
      { username: "berth", password: "wrong" },
      { auth: Buffer.from("intruder:s3cret").toString("base64") },
      undefined,
    ]) {
      const f = await failureOf(c.PullImage(auth ? { image, auth } : { image }));
      expect([status.UNAUTHENTICATED, status.PERMISSION_DENIED], f.codeName).to.include(f.code);
      expect(f.details).to.include(authReg.host);
    }
    const ok = await c.PullImage({ image, auth: { username: "berth", password: "s3cret" } });
    expect(ok.image_ref).to.equal(built.config.digest);
    await c.RemoveImage({ image });
  });

  it("unknown repository, tag or digest: NOT_FOUND", async () => {
    const c = berthd.client.call;
    const zero = `sha256:${"0".repeat(64)}`;
    for (const image of [
      `${reg.host}/t/nonexistent:1`,
      `${reg.host}/t/busybox:no-such-tag`,
      `${reg.host}/t/busybox@${zero}`,
    ]) {
      const f = await failureOf(c.PullImage({ image: { image } }));
      expect(f.codeName, `${image}: ${f.details}`).to.equal("NOT_FOUND");
      expect(f.details).to.include(reg.host);
    }
  });

  it("a corrupted layer blob fails the pull and nothing of it is kept", async () => {
    const c = berthd.client.call;
    const built = await bulkyImage(base, "corrupt", [256 * 1024]);
    await reg.pusher.pushImage("t/corrupt", built, "1");
    const snaps = await snapshotEntries(berthd.root);
    const m0 = await berthd.metricsText();
    // Only the layer: the config (the first blob this pull fetches) arrives intact.
    const first = reg.requestCount(BLOB_GET);
    reg.setFaults({
      get corruptBlobs() {
        return reg.requestCount(BLOB_GET) > first + 1;
      },
    });
    const image = { image: `${reg.host}/t/corrupt:1` };
    const f = await failureOf(c.PullImage({ image }));
    expect(f.details).to.match(/digest/i);
    expect(f.details).to.include(built.layers[1]!.digest);
    expect(reg.requestCount(BLOB_GET) - first, "config and layer fetched").to.equal(2);
    await expectNothingKept(built, snaps);
    const m1 = await berthd.metricsText();
    const failures = 'berth_image_pulls_total{result="failure"}';
    expect(metricValue(m1, failures) - metricValue(m0, failures)).to.equal(1);

    reg.setFaults({});
    expect((await c.PullImage({ image })).image_ref).to.equal(built.config.digest);
    await c.RemoveImage({ image });
  });

  it("a registry stalling mid-layer fails within the progress timeout; a second pull works", async () => {
    const c = berthd.client.call;
    const built = await bulkyImage(base, "stall", [3 << 19, 3 << 19]);
    await reg.pusher.pushImage("t/stall", built, "1");
    const snaps = await snapshotEntries(berthd.root);
    reg.setFaults({ stallBlobsAfterBytes: 1 << 20 });
    const image = { image: `${reg.host}/t/stall:1` };
    const f = await failureOf(c.PullImage({ image }));
    expect(f.codeName, f.details).to.equal("DEADLINE_EXCEEDED");
    expect(f.details).to.include(reg.host);
    expect(f.ms, "error time ms").to.be.within(
      PROGRESS_TIMEOUT_S * 1000 - 100,
      PROGRESS_TIMEOUT_S * 1000 + 3000,
    );
    await expectNothingKept(built, snaps);

    reg.setFaults({});
    expect((await c.PullImage({ image })).image_ref).to.equal(built.config.digest);
    await c.RemoveImage({ image });
  });

  it("a registry killed mid-pull: error within the timeout, nothing half-written, pull after restart", async () => {
    const c = berthd.client.call;
    const built = await bulkyImage(base, "killed", [3 << 19]);
    await reg.pusher.pushImage("t/killed", built, "1");
    const snaps = await snapshotEntries(berthd.root);
    const layer = new RegExp(built.layers[1]!.digest.replace("sha256:", ""));
    reg.setFaults({ stallBlobsAfterBytes: 1 << 20 });
    const image = { image: `${reg.host}/t/killed:1` };
    const pulling = failureOf(c.PullImage({ image }));
    const deadline = Date.now() + 10_000;
    while (reg.requestCount(layer) === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(reg.requestCount(layer), "layer download started").to.equal(1);
    const killedAt = Date.now();
    registryDown = true;
    await reg.kill();
    const f = await pulling;
    expect(Date.now() - killedAt, "error after the kill, ms").to.be.below(
      PROGRESS_TIMEOUT_S * 1000 + 3000,
    );
    expect(["DEADLINE_EXCEEDED", "UNAVAILABLE"], f.details).to.include(f.codeName);
    expect(f.details).to.include(reg.host);
    await expectNothingKept(built, snaps);

    reg.setFaults({});
    const down = await failureOf(c.PullImage({ image }));
    expect(down.codeName, down.details).to.equal("UNAVAILABLE");
    await reg.restart();
    registryDown = false;
    expect((await c.PullImage({ image })).image_ref).to.equal(built.config.digest);
    await c.RemoveImage({ image });
  });

  it("10 concurrent pulls of one image download each blob once", async () => {
    const c = berthd.client.call;
    const built = await bulkyImage(base, "concurrent", [1 << 20, 512 << 10, 256 << 10]);
    await reg.pusher.pushImage("t/concurrent", built, "1");
    const tag = `${reg.host}/t/concurrent:1`;
    const byDigest = `${reg.host}/t/concurrent@${built.manifest.digest}`;
    const before = new Map(
      built.layers.map((l) => [l.digest, reg.requestCount(new RegExp(l.digest.slice(7)))]),
    );
    const refs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        c.PullImage({ image: { image: i % 2 === 0 ? tag : byDigest } }),
      ),
    );
    expect(new Set(refs.map((r) => r.image_ref))).to.deep.equal(new Set([built.config.digest]));
    for (const l of built.layers.slice(1)) {
      const n = reg.requestCount(new RegExp(l.digest.slice(7))) - before.get(l.digest)!;
      expect(n, `GETs of layer ${l.digest}`).to.equal(1);
    }
    expect(
      reg.requestCount(new RegExp(built.layers[0]!.digest.slice(7))),
      "base layer reused",
    ).to.equal(before.get(built.layers[0]!.digest));
    const st = await c.ImageStatus({ image: { image: tag } });
    expect(st.image!.repo_tags).to.deep.equal([tag]);
    expect(st.image!.repo_digests).to.deep.equal([byDigest]);
    await c.RemoveImage({ image: { image: tag } });
  });

  it("removing an image while another image on its layers is pulling keeps those layers", async () => {
    const c = berthd.client.call;
    const bottom = {
      entries: [dir("gc"), file("gc/bottom.txt", randomBytes(512).toString("hex"))],
    };
    const a = await buildImage({ layers: [bottom], config: { Cmd: ["/bin/true"] } });
    const b = await buildImage({
      layers: [bottom, { entries: [file("gc/big.bin", randomBytes(16 << 20))] }],
      config: { Cmd: ["/bin/true"] },
    });
    await reg.pusher.pushImage("t/gc-a", a, "1");
    await reg.pusher.pushImage("t/gc-b", b, "1");
    const nameA = `${reg.host}/t/gc-a:1`;
    const nameB = `${reg.host}/t/gc-b:1`;
    await c.PullImage({ image: { image: nameA } });
    const big = new RegExp(b.layers[1]!.digest.slice(7));
    const n0 = reg.requestCount(big);
    const pulling = c.PullImage({ image: { image: nameB } });
    const deadline = Date.now() + 10_000;
    while (reg.requestCount(big) === n0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    // B reuses A's bottom layer; A goes while B still downloads its own.
    await c.RemoveImage({ image: { image: nameA } });
    expect((await pulling).image_ref).to.equal(b.config.digest);
    const info = await verboseInfo(berthd, nameB);
    const snaps = await readSnapshots(berthd.root);
    for (const l of info.layers)
      expect(snaps.has(l.chainId), `snapshot ${l.chainId}`).to.equal(true);
    // B's own documents survived the collection that A's removal ran (layer blobs are not kept).
    const blobs = await storedBlobs(berthd.root);
    expect(blobs).to.include.members([b.config.digest, b.manifest.digest]);
    await c.RemoveImage({ image: { image: nameB } });
  });

  it("a mirror from berth.toml serves the pull; the image keeps the asked-for name", async () => {
    const c = berthd.client.call;
    const built = await bulkyImage(base, "mirrored", [1024]);
    await reg.pusher.pushImage("t/mirrored", built, "7");
    const n0 = reg.requestCount(/^\/v2\/t\/mirrored\/manifests\/7$/);
    const name = `${MIRRORED}/t/mirrored:7`;
    const res = await c.PullImage({ image: { image: name } });
    expect(res.image_ref).to.equal(built.config.digest);
    expect(reg.requestCount(/^\/v2\/t\/mirrored\/manifests\/7$/) - n0).to.equal(1);
    const st = await c.ImageStatus({ image: { image: name } });
    expect(st.image!.repo_tags).to.deep.equal([name]);
    expect(st.image!.repo_digests).to.deep.equal([
      `${MIRRORED}/t/mirrored@${built.manifest.digest}`,
    ]);
    await c.RemoveImage({ image: { image: name } });
    expect((await c.ImageStatus({ image: { image: name } })).image).to.equal(null);
  });

  it("ImageStatus of an absent image is empty; RemoveImage is idempotent and drops every tag", async () => {
    const c = berthd.client.call;
    expect((await c.ImageStatus({ image: { image: `${reg.host}/t/absent:1` } })).image).to.equal(
      null,
    );
    const built = await bulkyImage(base, "tags", [1024]);
    await reg.pusher.pushImage("t/tags", built, "a");
    await reg.pusher.pushImage("t/tags", built, "b");
    const a = `${reg.host}/t/tags:a`;
    const b = `${reg.host}/t/tags:b`;
    await c.PullImage({ image: { image: a } });
    await c.PullImage({ image: { image: b } });
    const listed = (await c.ListImages({})).images.filter((i) => i.id === built.config.digest);
    expect(listed).to.have.length(1);
    expect([...listed[0]!.repo_tags].sort()).to.deep.equal([a, b]);
    await c.RemoveImage({ image: { image: b } });
    expect((await c.ImageStatus({ image: { image: a } })).image).to.equal(null);
    expect(await listIds(berthd)).to.not.include(built.config.digest);
    await c.RemoveImage({ image: { image: b } });
    await c.RemoveImage({ image: { image: built.config.digest } });
    await c.RemoveImage({ image: { image: `${reg.host}/t/never-pulled:1` } });
  });
});
