// writeFileAtomic: the new contents replace the old in one rename, with no temp file left; by
// default fsynced (the file before the rename, the directory after it), with `sync: false` not
// at all. The fsyncs are counted on the FileHandle prototype node:fs/promises uses.
import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../../../src/util/atomic-file.js";

describe("util/atomic-file", () => {
  let dir: string;
  let syncs: number;
  let proto: { sync: () => Promise<void> };
  let realSync: () => Promise<void>;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-atomic-"));
    const fh = await fs.open(dir, "r");
    proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void> };
    await fh.close();
    realSync = proto.sync;
    syncs = 0;
    proto.sync = function (this: unknown) {
      syncs++;
      return realSync.call(this);
    };
  });

  afterEach(async () => {
    proto.sync = realSync;
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("replaces the file and fsyncs the file and its directory by default", async () => {
    const target = path.join(dir, "state.json");
    await fs.writeFile(target, "old");
    await writeJsonAtomic(target, { a: 1 });
    expect(JSON.parse(await fs.readFile(target, "utf8"))).to.deep.equal({ a: 1 });
    expect(syncs).to.equal(2);
    expect(await fs.readdir(dir)).to.deep.equal(["state.json"]);
  });

  it("syncDir: false fsyncs the file only", async () => {
    await writeFileAtomic(path.join(dir, "f"), "x", 0o644, { syncDir: false });
    expect(syncs).to.equal(1);
  });

  it("sync: false writes and renames the same way, with no fsync at all", async () => {
    const target = path.join(dir, "cache.json");
    await fs.writeFile(target, "old");
    await writeJsonAtomic(target, { b: 2 }, { sync: false });
    expect(JSON.parse(await fs.readFile(target, "utf8"))).to.deep.equal({ b: 2 });
    expect(syncs).to.equal(0);
    expect(await fs.readdir(dir)).to.deep.equal(["cache.json"]);
  });
});
