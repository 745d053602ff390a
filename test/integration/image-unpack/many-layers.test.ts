// Tall images: 120 snapshots stacked in one overlay mount. Their absolute lowerdir list is
// longer than mount(2)'s 4096-byte page, so this exercises the relative-path mount.
import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  MOUNT_DATA_MAX,
  mountOverlay,
  planOverlayMount,
  unmount,
} from "../../../src/image/overlay-mount.js";
import { SnapshotStore } from "../../../src/image/snapshots.js";
import { silentLogger } from "../../../src/log.js";
import { ProcessRunner } from "../../../src/util/command.js";
import { buildTar, requireUnpackHost, writeBlob } from "./layer-fixtures.js";

const LAYERS = 120;

describe("image unpack: 120-layer overlay mounts (root)", function () {
  const runner = new ProcessRunner();
  let tmp: string;
  let store: SnapshotStore;
  let top: string;
  const mounts: string[] = [];

  before(async function () {
    await requireUnpackHost(this);
    // A long state root, as a real one under a deep path would be.
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-tall-"));
    const root = path.join(tmp, "var-lib-berth-with-a-rather-long-name/state");
    store = await SnapshotStore.open({ root, runner, logger: silentLogger() });
    let parent: string | null = null;
    for (let i = 0; i < LAYERS; i++) {
      const entries = [
        { name: `layers/l${i}`, content: String(i) },
        { name: "which", content: `layer ${i}` },
      ];
      if (i === 60) entries.push({ name: "layers/.wh.l3", content: "" });
      const b = await writeBlob(tmp, `blob${i}`, await buildTar(entries), i % 2 ? "gzip" : "none");
      parent = (
        await store.prepare({ parent, diffId: b.diffId, blob: b.blob, mediaType: b.mediaType })
      ).chainId;
    }
    top = parent as string;
  });

  afterEach(async function () {
    for (const m of mounts.splice(0).reverse()) await unmount(m, runner);
  });

  after(async function () {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  async function target(name: string): Promise<string> {
    const t = path.join(tmp, name);
    await fs.mkdir(t, { recursive: true });
    return t;
  }

  it("needs the relative form: absolute paths overflow the mount page", function () {
    const lowerDirs = store.lowerDirs(top);
    expect(lowerDirs).to.have.length(LAYERS);
    expect(`lowerdir=${lowerDirs.join(":")}`.length).to.be.greaterThan(MOUNT_DATA_MAX);
    const plan = planOverlayMount({ lowerDirs });
    expect(plan.kind === "overlay" && plan.cwd).to.equal(store.dir);
  });

  it("mounts all 120 layers with an upper dir, topmost layer winning", async function () {
    const merged = await target("merged");
    const upperDir = await target("upper");
    const workDir = await target("work");
    await mountOverlay({
      lowerDirs: store.lowerDirs(top),
      upperDir,
      workDir,
      target: merged,
      runner,
    });
    mounts.push(merged);
    const names = await fs.readdir(path.join(merged, "layers"));
    const expected = Array.from({ length: LAYERS }, (_, i) => `l${i}`).filter((n) => n !== "l3");
    expect(names.sort()).to.deep.equal(expected.sort());
    expect(await fs.readFile(path.join(merged, "which"), "utf8")).to.equal(`layer ${LAYERS - 1}`);
    await fs.writeFile(path.join(merged, "layers/l0"), "changed");
    expect(await fs.readFile(path.join(upperDir, "layers/l0"), "utf8")).to.equal("changed");
  });

  it("mounts all 120 layers read-only", async function () {
    const ro = await target("ro");
    await mountOverlay({ lowerDirs: store.lowerDirs(top), target: ro, runner });
    mounts.push(ro);
    expect(await fs.readFile(path.join(ro, "layers/l119"), "utf8")).to.equal("119");
    const err = await fs
      .writeFile(path.join(ro, "x"), "x")
      .catch((e: NodeJS.ErrnoException) => e.code);
    expect(err).to.equal("EROFS");
  });
});
