// A PullImage whose client goes away (deadline or cancel) stops downloading once no other
// caller waits for the same pull; while one still waits, the pull goes on for it.
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { Berthd } from "../../support/berthd.js";
import { buildImage } from "../../support/registry/image-builder.js";
import { startRegistry, type TestRegistry } from "../../support/registry/registry-server.js";
import { dir, file } from "../../support/registry/tar.js";
import { failureOf } from "./cri-helpers.js";

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe("image service: a pull nobody waits for stops (CRI, root)", function () {
  this.timeout(120_000);
  let reg: TestRegistry;
  let berthd: Berthd;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    reg = await startRegistry();
    // A progress timeout far beyond the test: only cancellation can end these downloads.
    berthd = await Berthd.start({ configToml: "pull_progress_timeout_seconds = 300" });
  });
  after(async () => {
    await berthd?.cleanup();
    await reg?.stop();
  });

  async function pushBulky(name: string): Promise<string> {
    const built = await buildImage({
      layers: [{ entries: [dir(name), file(`${name}/blob.bin`, randomBytes(1 << 20))] }],
      config: { Cmd: ["/bin/sh"] },
    });
    await reg.pusher.pushImage(`t/${name}`, built, "1");
    return `${reg.host}/t/${name}:1`;
  }

  it("the only caller's deadline ends the download", async () => {
    const image = await pushBulky("alone");
    reg.setFaults({ stallBlobsAfterBytes: 64 << 10 });
    const f = await failureOf(
      berthd.client.call.PullImage({ image: { image } }, { timeoutMs: 1500 }),
    );
    expect(f.codeName).to.equal("DEADLINE_EXCEEDED");
    expect(await until(() => reg.proxy.stalledOpen === 0, 5000), "download still open").to.equal(
      true,
    );
    expect((await berthd.client.call.ListImages({})).images).to.deep.equal([]);
    reg.setFaults({});
  });

  it("goes on while another caller waits, and stops when that one goes too", async () => {
    const image = await pushBulky("shared");
    reg.setFaults({ stallBlobsAfterBytes: 64 << 10 });
    const c = berthd.client.call;
    const first = failureOf(c.PullImage({ image: { image } }, { timeoutMs: 1000 }));
    const second = failureOf(c.PullImage({ image: { image } }, { timeoutMs: 4000 }));
    expect((await first).codeName).to.equal("DEADLINE_EXCEEDED");
    await new Promise((r) => setTimeout(r, 1500));
    expect(reg.proxy.stalledOpen, "the second caller still waits").to.equal(1);
    expect((await second).codeName).to.equal("DEADLINE_EXCEEDED");
    expect(await until(() => reg.proxy.stalledOpen === 0, 5000), "download still open").to.equal(
      true,
    );
    reg.setFaults({});
    // Nothing half-kept: the same image pulls whole afterwards.
    expect((await c.PullImage({ image: { image } })).image_ref).to.match(/^sha256:/);
    await c.RemoveImage({ image: { image } });
  });
});
