// Issue #3 acceptance: hostile layers (path traversal, absolute paths, symlink and hardlink
// escapes) pulled through the CRI of a real berthd sitting on a real busybox base layer. Each
// must fail the pull with a message naming the entry, leave no image and no snapshot behind,
// and leave the sentinel files outside berthd's root exactly as they were.
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { expect } from "chai";
import * as tar from "tar-stream";
import { ProcessRunner } from "../../../src/util/command.js";
import { Berthd } from "../../support/berthd.js";
import { buildImage } from "../../support/registry/image-builder.js";
import { busyboxEntries } from "../../support/registry/images.js";
import { startRegistry, type TestRegistry } from "../../support/registry/registry-server.js";
import { makeTar } from "../../support/registry/tar.js";
import { failureOf, ingestEntries, listIds } from "./cri-helpers.js";
import { describeTree, snapshotEntries, withMountedStack } from "./image-tree.js";

interface RawEntry {
  /** Written into the header as is: leading `/` and `..` survive. */
  name: string;
  type?: "file" | "directory" | "symlink" | "link";
  content?: string;
  linkname?: string;
  mode?: number;
}

async function rawTar(entries: readonly RawEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    const type = e.type ?? "file";
    const content = Buffer.from(e.content ?? "");
    const header: tar.Header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: 0,
      gid: 0,
      mtime: new Date(0),
      linkname: e.linkname ?? "",
      uname: "",
      gname: "",
      size: type === "file" ? content.length : 0,
      devmajor: 0,
      devminor: 0,
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === "file") pack.entry(header, content, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

describe("image service: malicious layers never touch the host (CRI, root)", function () {
  this.timeout(60_000);
  const runner = new ProcessRunner();
  let reg: TestRegistry;
  let berthd: Berthd;
  let sentinels: string;
  let sentinelDir: string;
  let sentinelFile: string;
  let base: { tar: Buffer; blob: Buffer };
  let hostBefore: string;
  let n = 0;

  before(async function () {
    this.timeout(120_000);
    if (process.getuid?.() !== 0) {
      console.log("      skipped: needs root (berthd unpacks layers as root)");
      this.skip();
    }
    sentinels = await fs.mkdtemp(path.join(os.tmpdir(), "berth-test-sentinel-"));
    sentinelDir = path.join(sentinels, "dir");
    sentinelFile = path.join(sentinelDir, "sentinel-file");
    await fs.mkdir(sentinelDir, { mode: 0o700 });
    await fs.writeFile(sentinelFile, "sentinel\n", { mode: 0o600 });
    reg = await startRegistry();
    berthd = await Berthd.start();
    const baseTar = await makeTar(busyboxEntries());
    base = { tar: baseTar, blob: gzipSync(baseTar) };
    const plain = await buildImage({
      layers: [{ tar: base.tar, rawBlob: base.blob, compression: "gzip" }],
    });
    await reg.pusher.pushImage("t/base", plain, "1");
    // The base layer's snapshot exists, so a hostile pull adds nothing if it is refused.
    await berthd.client.call.PullImage({ image: { image: `${reg.host}/t/base:1` } });
    hostBefore = await hostState();
  });
  after(async () => {
    await berthd?.cleanup();
    await reg?.stop();
    if (sentinels) await fs.rm(sentinels, { recursive: true, force: true });
  });

  /** What a hostile layer could have changed outside berthd's root. */
  async function hostState(): Promise<string> {
    const sentinelTree = await describeTree(sentinels);
    const st = await fs.lstat(sentinelFile);
    const dirSt = await fs.lstat(sentinelDir);
    const passwd = await fs.lstat("/etc/passwd");
    const escapes = await Promise.all(
      ["/", "/etc", "/tmp", sentinels, sentinelDir, berthd.dir].map(async (d) => [
        d,
        (await fs.readdir(d)).filter((x) => x.includes("escape")),
      ]),
    );
    const passwdHash = createHash("sha256")
      .update(await fs.readFile("/etc/passwd"))
      .digest("hex");
    return JSON.stringify({
      sentinelTree,
      file: [st.mode, st.uid, st.gid, st.nlink, st.mtimeMs, st.ino],
      dir: [dirSt.mode, dirSt.uid, dirSt.gid, dirSt.mtimeMs],
      passwd: [passwd.nlink, passwd.mode, passwd.uid, passwdHash],
      escapes,
    });
  }

  /** Pushes base + hostile layer as a fresh repository; returns the image name and id. */
  async function pushHostile(entries: RawEntry[]): Promise<{ image: string; id: string }> {
    const built = await buildImage({
      layers: [
        { tar: base.tar, rawBlob: base.blob, compression: "gzip" },
        { tar: await rawTar(entries), compression: "gzip" },
      ],
      config: { Cmd: ["/bin/sh"] },
    });
    const repo = `t/hostile-${n++}`;
    await reg.pusher.pushImage(repo, built, "1");
    return { image: `${reg.host}/${repo}:1`, id: built.config.digest };
  }

  async function expectRefused(entries: RawEntry[], badEntry: string): Promise<void> {
    const snaps = await snapshotEntries(berthd.root);
    const { image, id } = await pushHostile(entries);
    const f = await failureOf(berthd.client.call.PullImage({ image: { image } }));
    expect(f.codeName, f.details).to.equal("FAILED_PRECONDITION");
    expect(f.details).to.include(JSON.stringify(badEntry));
    expect(await listIds(berthd)).to.not.include(id);
    expect(await snapshotEntries(berthd.root), "no snapshot left").to.deep.equal(snaps);
    expect(await ingestEntries(berthd.root)).to.deep.equal([]);
    expect(await hostState(), "host untouched").to.equal(hostBefore);
  }

  it("path traversal: ../ names climbing out of the layer", async () => {
    const climb = `${"../".repeat(24)}${sentinelDir.slice(1)}/escape-traversal`;
    await expectRefused(
      [
        { name: "ok.txt", content: "ok" },
        { name: climb, content: "pwned" },
      ],
      climb,
    );
    await expectRefused(
      [
        { name: "a/", type: "directory" },
        { name: "a/../../escape-up", content: "pwned" },
      ],
      "a/../../escape-up",
    );
  });

  it("absolute paths that climb out are refused", async () => {
    const abs = `/../../..${sentinelDir}/escape-abs`;
    await expectRefused([{ name: abs, content: "pwned" }], abs);
  });

  it("an absolute path without .. lands inside the image, never on the host", async () => {
    const c = berthd.client.call;
    const { image } = await pushHostile([
      { name: `${sentinelDir}/escape-rooted`, content: "inside" },
      { name: "/etc/escape-rooted", content: "inside" },
    ]);
    await c.PullImage({ image: { image } });
    expect(await hostState(), "host untouched").to.equal(hostBefore);
    const st = await c.ImageStatus({ image: { image }, verbose: true });
    const chainId = (JSON.parse(st.info.info ?? "{}") as { chainID: string }).chainID;
    const tree = await withMountedStack(berthd.root, chainId, runner, describeTree);
    expect(tree.filter((l) => l.includes("escape"))).to.have.length(2);
    expect(tree.some((l) => l.startsWith(`${sentinelDir.slice(1)}/escape-rooted 0644`))).to.equal(
      true,
    );
    await c.RemoveImage({ image: { image } });
  });

  it("symlink escape: writing through a symlink to a host dir", async () => {
    await expectRefused(
      [
        { name: "evil", type: "symlink", linkname: sentinelDir },
        { name: "evil/escape-symlink", content: "pwned" },
      ],
      "evil/escape-symlink",
    );
    await expectRefused(
      [
        { name: "evil", type: "symlink", linkname: `${"../".repeat(24)}${sentinelDir.slice(1)}` },
        { name: "evil/sentinel-file", content: "pwned", mode: 0o4777 },
      ],
      "evil/sentinel-file",
    );
    await expectRefused(
      [
        { name: "evil", type: "symlink", linkname: sentinelDir },
        { name: "evil/.wh.sentinel-file", content: "" },
      ],
      "evil/.wh.sentinel-file",
    );
  });

  it("hardlink escape: links to host files, by path or through a symlink", async () => {
    await expectRefused([{ name: "h", type: "link", linkname: sentinelFile }], "h");
    await expectRefused(
      [{ name: "h", type: "link", linkname: `${"../".repeat(24)}etc/passwd` }],
      "h",
    );
    await expectRefused(
      [
        { name: "evil", type: "symlink", linkname: sentinelDir },
        { name: "h", type: "link", linkname: "evil/sentinel-file" },
      ],
      "h",
    );
  });
});
