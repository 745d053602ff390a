import { expect } from "chai";
import { ContentStore } from "../../../src/image/content-store.js";
import { RegistryClient } from "../../../src/image/registry/client.js";
import type { RegistryCredentials } from "../../../src/image/registry/credentials.js";
import { fetchBlob, fetchImage } from "../../../src/image/registry/fetch-image.js";
import { parseReference } from "../../../src/image/reference.js";
import { UnauthenticatedError } from "../../../src/errors.js";
import type { BuiltImage } from "../../support/registry/image-builder.js";
import { multiLayerImage } from "../../support/registry/images.js";
import { startRegistry, type TestRegistry } from "../../support/registry/registry-server.js";
import { TempStores, registryMissing } from "./helpers.js";

const USER = { user: "puller", pass: "s3cret:with:colons" };
const GOOD: RegistryCredentials = { username: USER.user, password: USER.pass };
const WRONG: RegistryCredentials = { username: USER.user, password: "wrong" };

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

async function pull(
  c: RegistryClient,
  store: ContentStore,
  image: string,
  credentials?: RegistryCredentials,
): Promise<void> {
  const ref = parseReference(image);
  const img = await fetchImage(c, ref, { credentials });
  for (const l of img.layers)
    await fetchBlob(c, store, ref, l, { credentials, endpoint: img.endpoint });
}

for (const mode of ["basic", "token"] as const) {
  describe(`registry client with ${mode} authentication`, function () {
    this.timeout(120_000);
    let reg: TestRegistry;
    let image: BuiltImage;
    const stores = new TempStores();
    const clients: RegistryClient[] = [];
    const client = (): RegistryClient => {
      const c = new RegistryClient({ progressTimeoutMs: 20_000 });
      clients.push(c);
      return c;
    };

    before(async function () {
      const missing = registryMissing();
      if (missing) {
        console.log(`skipping: ${missing}`);
        this.skip();
      }
      reg = await startRegistry({ htpasswd: USER, tokenAuth: mode === "token" });
      image = await multiLayerImage();
      await reg.pusher.pushImage("private/app", image, "v1");
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) await c.close();
      await stores.cleanup();
    });
    after(async () => {
      await reg?.stop();
    });

    it("pulls with good credentials (username/password and the base64 auth field)", async () => {
      const store = await stores.create();
      await pull(client(), store, `${reg.host}/private/app:v1`, GOOD);
      for (const l of image.layers) expect(await store.has(l.digest)).to.equal(true);
      const auth = Buffer.from(`${USER.user}:${USER.pass}`).toString("base64");
      const img = await fetchImage(client(), parseReference(`${reg.host}/private/app:v1`), {
        credentials: { auth },
      });
      expect(img.config.digest).to.equal(image.config.digest);
    });

    it("answers UNAUTHENTICATED naming the registry for wrong or missing credentials", async () => {
      const ref = parseReference(`${reg.host}/private/app:v1`);
      for (const credentials of [WRONG, undefined]) {
        const err = await rejection(fetchImage(client(), ref, { credentials }));
        expect(err, String(credentials?.password)).to.be.instanceOf(UnauthenticatedError);
        expect(err.message).to.include(reg.host);
      }
    });

    if (mode === "token") {
      it("caches the bearer token per registry and scope", async () => {
        const c = client();
        const store = await stores.create();
        const before = reg.tokenRequestCount();
        await pull(c, store, `${reg.host}/private/app:v1`, GOOD);
        expect(reg.tokenRequestCount() - before).to.equal(1);
        await fetchImage(c, parseReference(`${reg.host}/private/app:v1`), { credentials: GOOD });
        expect(reg.tokenRequestCount() - before).to.equal(1);
        // Other credentials never reuse that token: anonymous callers get their own (useless) one.
        const err = await rejection(fetchImage(c, parseReference(`${reg.host}/private/app:v1`)));
        expect(err).to.be.instanceOf(UnauthenticatedError);
        expect(reg.tokenRequestCount() - before).to.be.greaterThan(1);
      });
    }
  });
}

describe("registry client with anonymous token authentication", function () {
  this.timeout(120_000);
  let reg: TestRegistry;
  let image: BuiltImage;

  before(async function () {
    const missing = registryMissing();
    if (missing) {
      console.log(`skipping: ${missing}`);
      this.skip();
    }
    reg = await startRegistry({ tokenAuth: true });
    image = await multiLayerImage();
    await reg.pusher.pushImage("public/app", image, "v1");
  });
  after(async () => {
    await reg?.stop();
  });

  it("fetches a token without credentials and pulls", async () => {
    const c = new RegistryClient();
    try {
      const img = await fetchImage(c, parseReference(`${reg.host}/public/app:v1`));
      expect(img.manifestDigest).to.equal(image.manifest.digest);
      expect(reg.tokenRequestCount()).to.be.greaterThan(0);
    } finally {
      await c.close();
    }
  });
});
