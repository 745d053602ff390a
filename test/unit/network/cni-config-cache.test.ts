import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CniConfigCache, configStamp } from "../../../src/network/cni-config-cache.js";
import type { CniConfigLookup } from "../../../src/network/cni-config.js";

describe("network/cni-config-cache", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cni-cache-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const list = (name: string) => JSON.stringify({ cniVersion: "1.0.0", name, plugins: [] });

  it("stamps what a lookup reads: any config file added, removed, rewritten or replaced", async () => {
    const missing = path.join(dir, "none");
    const stamps = new Set<string>();
    const take = async () => {
      const s = await configStamp([dir, missing]);
      expect(s, "the same files give the same stamp").to.equal(await configStamp([dir, missing]));
      stamps.add(s);
    };
    await take();
    await fs.writeFile(path.join(dir, "10-a.conflist"), list("a"));
    await take();
    await fs.writeFile(path.join(dir, "notes.txt"), "not a config");
    expect(stamps.has(await configStamp([dir, missing])), "other files do not count").to.equal(
      true,
    );
    await fs.writeFile(path.join(dir, "10-a.conflist"), list("abc"));
    await take();
    await fs.writeFile(path.join(dir, "tmp"), list("xyz"));
    await fs.rename(path.join(dir, "tmp"), path.join(dir, "10-a.conflist"));
    await take();
    await fs.mkdir(missing);
    await fs.writeFile(path.join(missing, "99-b.conf"), list("b"));
    await take();
    await fs.rm(path.join(dir, "10-a.conflist"));
    await take();
    expect(stamps.size).to.equal(6);
  });

  it("reads the config again only after a change, and keeps only a clean, usable lookup", async () => {
    const answers: CniConfigLookup[] = [];
    let loads = 0;
    const cache = new CniConfigCache([dir], ["/nonexistent"], () => {
      loads++;
      return Promise.resolve(answers.shift()!);
    });
    const ok: CniConfigLookup = {
      ok: true,
      config: { cniVersion: "1.0.0", name: "a", disableCheck: false, plugins: [] },
      file: path.join(dir, "10-a.conflist"),
      skipped: [],
    };
    await fs.writeFile(ok.file, list("a"));
    answers.push(ok);
    expect(await cache.lookup()).to.equal(ok);
    expect(await cache.lookup()).to.equal(ok);
    expect(loads).to.equal(1);

    await fs.writeFile(ok.file, list("changed"));
    const withSkipped = { ...ok, skipped: [{ file: "/x/05-b.conflist", reason: "no plugin" }] };
    const notOk: CniConfigLookup = { ok: false, reason: "none", skipped: [] };
    answers.push(withSkipped, withSkipped, notOk, notOk, ok);
    // A lookup that skipped a file, or found none, is read again each time.
    expect(await cache.lookup()).to.equal(withSkipped);
    expect(await cache.lookup()).to.equal(withSkipped);
    expect(await cache.lookup()).to.equal(notOk);
    expect(await cache.lookup()).to.equal(notOk);
    expect(await cache.lookup()).to.equal(ok);
    expect(await cache.lookup()).to.equal(ok);
    expect(loads).to.equal(6);
  });
});
