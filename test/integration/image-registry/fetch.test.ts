import { expect } from "chai";
import { promises as fs } from "node:fs";
import { ContentStore } from "../../../src/image/content-store.js";
import { DigestMismatchError } from "../../../src/image/registry/digest.js";
import { fetchBlob, fetchImage } from "../../../src/image/registry/fetch-image.js";
import { RegistryClient } from "../../../src/image/registry/client.js";
import { parseReference } from "../../../src/image/reference.js";
import { DeadlineExceededError, NotFoundError, UnavailableError } from "../../../src/errors.js";
import { ProcessRunner } from "../../../src/util/command.js";
import type { BuiltImage, BuiltIndex } from "../../support/registry/image-builder.js";
import {
  busyboxImage,
  dockerSchema2Image,
  manyLayersImage,
  multiLayerImage,
  multiPlatformIndex,
  zstdImage,
} from "../../support/registry/images.js";
import { startRegistry, type TestRegistry } from "../../support/registry/registry-server.js";
import { TempStores, ingestLeftovers, registryMissing } from "./helpers.js";

async function expectRejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("registry client against docker-registry (no auth)", function () {
  this.timeout(120_000);
  let reg: TestRegistry;
  const stores = new TempStores();
  const clients: RegistryClient[] = [];
  const images: Record<string, BuiltImage> = {};
  let index: BuiltIndex;

  const client = (progressTimeoutMs = 30_000): RegistryClient => {
    const c = new RegistryClient({ progressTimeoutMs });
    clients.push(c);
    return c;
  };

  before(async function () {
    const missing = registryMissing();
    if (missing) {
      console.log(`skipping: ${missing}`);
      this.skip();
    }
    reg = await startRegistry();
    images.busybox = await busyboxImage();
    images.multi = await multiLayerImage();
    images.docker = await dockerSchema2Image();
    images.zstd = await zstdImage(new ProcessRunner());
    images.deep = await manyLayersImage(120);
    index = await multiPlatformIndex();
    for (const [name, img] of Object.entries(images))
      await reg.pusher.pushImage(`test/${name}`, img, "v1");
    await reg.pusher.pushIndex("test/multiarch", index, "v1");
  });

  afterEach(async () => {
    reg?.setFaults({});
    for (const c of clients.splice(0)) await c.close();
    await stores.cleanup();
  });

  after(async () => {
    await reg?.stop();
  });

  async function pullAll(c: RegistryClient, store: ContentStore, image: string): Promise<void> {
    const ref = parseReference(image);
    const img = await fetchImage(c, ref);
    for (const l of img.layers) await fetchBlob(c, store, ref, l, { endpoint: img.endpoint });
  }

  for (const kind of ["busybox", "multi", "docker", "zstd", "deep"]) {
    it(`fetches the ${kind} image by tag and by digest, every blob verified into the store`, async () => {
      const built = images[kind]!;
      const c = client();
      const store = await stores.create();
      const ref = parseReference(`${reg.host}/test/${kind}:v1`);
      const img = await fetchImage(c, ref);
      expect(img.manifestDigest).to.equal(built.manifest.digest);
      expect(img.manifest.value.mediaType).to.equal(built.manifest.mediaType);
      expect(img.config.digest).to.equal(built.config.digest);
      expect(img.config.value.rootfs.diff_ids).to.deep.equal(built.layers.map((l) => l.diffId));
      expect(img.layers.map((l) => [l.digest, l.size, l.mediaType])).to.deep.equal(
        built.layers.map((l) => [l.digest, l.size, l.mediaType]),
      );
      const progress = new Map<string, number>();
      for (const l of img.layers) {
        const p = await fetchBlob(c, store, ref, l, {
          endpoint: img.endpoint,
          onProgress: (done) => progress.set(l.digest, done),
        });
        expect(p).to.equal(store.path(l.digest));
      }
      for (const l of built.layers) {
        expect((await fs.readFile(store.path(l.digest))).equals(l.bytes)).to.equal(true);
        expect(progress.get(l.digest)).to.equal(l.size);
      }
      const byDigest = await fetchImage(
        c,
        parseReference(`${reg.host}/test/${kind}@${built.manifest.digest}`),
      );
      expect(byDigest.manifestDigest).to.equal(built.manifest.digest);
      expect(byDigest.config.digest).to.equal(built.config.digest);
      expect(await ingestLeftovers(store)).to.deep.equal([]);
    });
  }

  it("chooses the node's platform from an index and keeps the index digest", async () => {
    const c = client();
    const ref = parseReference(`${reg.host}/test/multiarch:v1`);
    const [arm, amd] = index.images;
    const onAmd = await fetchImage(c, ref, { platform: { os: "linux", architecture: "amd64" } });
    expect(onAmd.manifestDigest).to.equal(index.index.digest);
    expect(onAmd.manifest.digest).to.equal(amd!.manifest.digest);
    expect(onAmd.config.value.architecture).to.equal("amd64");
    expect(onAmd.indexes.map((i) => i.digest)).to.deep.equal([index.index.digest]);
    const onArm = await fetchImage(c, ref, { platform: { os: "linux", architecture: "aarch64" } });
    expect(onArm.manifest.digest).to.equal(arm!.manifest.digest);
    const err = await expectRejects(
      fetchImage(c, ref, { platform: { os: "linux", architecture: "riscv64" } }),
    );
    expect(err).to.be.instanceOf(NotFoundError);
    expect((err as Error).message)
      .to.include("linux/riscv64")
      .and.include("linux/arm64/v8");
  });

  it("answers NOT_FOUND naming the image for an unknown repository or tag", async () => {
    const c = client();
    for (const image of [`${reg.host}/test/nope:v1`, `${reg.host}/test/busybox:nope`]) {
      const err = await expectRejects(fetchImage(c, parseReference(image)));
      expect(err).to.be.instanceOf(NotFoundError);
      expect((err as Error).message).to.include(image.replace(/:[^:/]+$/, ""));
    }
  });

  it("follows redirects for blobs", async () => {
    const c = client();
    const store = await stores.create();
    reg.setFaults({ redirectBlobs: true });
    await pullAll(c, store, `${reg.host}/test/multi:v1`);
    expect(reg.requestCount(/^\/__redirected__\//)).to.be.greaterThan(0);
    for (const l of images.multi!.layers) expect(await store.has(l.digest)).to.equal(true);
  });

  it("rejects a corrupted blob and keeps nothing of it", async () => {
    const c = client();
    const store = await stores.create();
    const ref = parseReference(`${reg.host}/test/busybox:v1`);
    const img = await fetchImage(c, ref);
    reg.setFaults({ corruptBlobs: true });
    const layer = img.layers[0]!;
    const err = await expectRejects(fetchBlob(c, store, ref, layer));
    expect(err).to.be.instanceOf(DigestMismatchError);
    expect(await store.has(layer.digest)).to.equal(false);
    expect(await store.list()).to.deep.equal([]);
    expect(await ingestLeftovers(store)).to.deep.equal([]);
  });

  it("fails within the progress timeout when the registry dies mid-blob, then succeeds on retry", async () => {
    const c = client(1500);
    const store = await stores.create();
    const ref = parseReference(`${reg.host}/test/busybox:v1`);
    const img = await fetchImage(c, ref);
    const layer = img.layers[0]!;
    reg.setFaults({ stallBlobsAfterBytes: 64 * 1024 });
    const started = Date.now();
    const pending = expectRejects(fetchBlob(c, store, ref, layer));
    await new Promise((r) => setTimeout(r, 300));
    await reg.kill();
    const err = await pending;
    const elapsed = Date.now() - started;
    expect(err).to.be.instanceOf(DeadlineExceededError);
    expect((err as Error).message).to.include(reg.host);
    expect(elapsed).to.be.lessThan(6000);
    expect(await store.has(layer.digest)).to.equal(false);
    expect(await ingestLeftovers(store)).to.deep.equal([]);

    const refused = await expectRejects(fetchImage(c, ref));
    expect(refused).to.be.instanceOf(UnavailableError);
    expect((refused as Error).message).to.include(reg.host);

    reg.setFaults({});
    await reg.restart();
    await fetchBlob(c, store, ref, layer);
    expect(await store.has(layer.digest)).to.equal(true);
  });

  it("answers UNAVAILABLE when the connection is cut mid-blob", async () => {
    const c = client();
    const store = await stores.create();
    const ref = parseReference(`${reg.host}/test/busybox:v1`);
    const img = await fetchImage(c, ref);
    reg.setFaults({ cutBlobsAfterBytes: 100 * 1024 });
    const err = await expectRejects(fetchBlob(c, store, ref, img.layers[0]!));
    expect(err).to.be.instanceOf(UnavailableError);
    expect(await store.list()).to.deep.equal([]);
    expect(await ingestLeftovers(store)).to.deep.equal([]);
  });

  it("answers DEADLINE_EXCEEDED when the registry never answers, UNAVAILABLE for 5xx", async () => {
    const c = client(1000);
    const ref = parseReference(`${reg.host}/test/busybox:v1`);
    reg.setFaults({ neverAnswer: true });
    const started = Date.now();
    const silent = await expectRejects(fetchImage(c, ref));
    expect(silent).to.be.instanceOf(DeadlineExceededError);
    expect((silent as Error).message).to.include(reg.host);
    expect(Date.now() - started).to.be.lessThan(5000);
    reg.setFaults({ failAllWith: 503 });
    const failing = await expectRejects(fetchImage(c, ref));
    expect(failing).to.be.instanceOf(UnavailableError);
    expect((failing as Error).message).to.include("503");
  });

  it("downloads a blob once for 10 concurrent fetches", async () => {
    const c = client();
    const store = await stores.create();
    const ref = parseReference(`${reg.host}/test/busybox:v1`);
    const img = await fetchImage(c, ref);
    const layer = img.layers[0]!;
    const path = new RegExp(`/blobs/${layer.digest}$`);
    const before = reg.requestCount(path);
    const paths = await Promise.all(
      Array.from({ length: 10 }, () => fetchBlob(c, store, ref, layer)),
    );
    expect(new Set(paths).size).to.equal(1);
    expect(reg.requestCount(path) - before).to.equal(1);
    expect(await store.has(layer.digest)).to.equal(true);
  });
});
