import { expect } from "chai";
import { RegistryClient } from "../../../src/image/registry/client.js";
import { fetchBlob, fetchImage } from "../../../src/image/registry/fetch-image.js";
import { formatReference, parseReference } from "../../../src/image/reference.js";
import type { BuiltImage } from "../../support/registry/image-builder.js";
import { busyboxImage, multiLayerImage } from "../../support/registry/images.js";
import { startRegistry, type TestRegistry } from "../../support/registry/registry-server.js";
import { TempStores, registryMissing } from "./helpers.js";

describe("registry mirrors", function () {
  this.timeout(120_000);
  let upstream: TestRegistry;
  let mirror: TestRegistry;
  let onMirror: BuiltImage;
  let onlyUpstream: BuiltImage;
  const stores = new TempStores();
  const clients: RegistryClient[] = [];

  before(async function () {
    const missing = registryMissing();
    if (missing) {
      console.log(`skipping: ${missing}`);
      this.skip();
    }
    upstream = await startRegistry();
    mirror = await startRegistry();
    onMirror = await busyboxImage();
    onlyUpstream = await multiLayerImage();
    await upstream.pusher.pushImage("lib/box", onMirror, "v1");
    await mirror.pusher.pushImage("lib/box", onMirror, "v1");
    await upstream.pusher.pushImage("lib/only-upstream", onlyUpstream, "v1");
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await stores.cleanup();
  });
  after(async () => {
    await mirror?.stop();
    await upstream?.stop();
  });

  const countAll = (r: TestRegistry): number => r.requestCount(/^\/v2\/lib\//);

  for (const key of ["exact", "*"] as const) {
    it(`tries the mirror first and keeps the image's name (config key ${key})`, async () => {
      const c = new RegistryClient({
        registries: {
          [key === "exact" ? upstream.host : "*"]: { mirrors: [mirror.url], insecure: false },
        },
      });
      clients.push(c);
      const store = await stores.create();
      const ref = parseReference(`${upstream.host}/lib/box:v1`);
      const beforeUp = countAll(upstream);
      const beforeMirror = countAll(mirror);
      const img = await fetchImage(c, ref);
      for (const l of img.layers) await fetchBlob(c, store, ref, l, { endpoint: img.endpoint });
      expect(img.endpoint.mirror).to.equal(true);
      expect(formatReference(img.ref)).to.equal(`${upstream.host}/lib/box:v1`);
      expect(countAll(upstream) - beforeUp).to.equal(0);
      expect(countAll(mirror) - beforeMirror).to.be.greaterThanOrEqual(3);
      for (const l of onMirror.layers) expect(await store.has(l.digest)).to.equal(true);
    });
  }

  it("falls back to the registry when the mirror lacks the image or is down", async () => {
    const c = new RegistryClient({
      registries: {
        [upstream.host]: { mirrors: ["http://127.0.0.1:9", mirror.url], insecure: false },
      },
    });
    clients.push(c);
    const store = await stores.create();
    const ref = parseReference(`${upstream.host}/lib/only-upstream:v1`);
    const img = await fetchImage(c, ref);
    for (const l of img.layers) await fetchBlob(c, store, ref, l, { endpoint: img.endpoint });
    expect(img.endpoint.mirror).to.equal(false);
    expect(img.manifestDigest).to.equal(onlyUpstream.manifest.digest);
    expect(mirror.requestCount(/^\/v2\/lib\/only-upstream\/manifests\/v1$/)).to.equal(1);
  });
});
