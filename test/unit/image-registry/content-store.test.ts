import { expect } from "chai";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { ContentStore } from "../../../src/image/content-store.js";
import { DigestMismatchError } from "../../../src/image/registry/digest.js";
import { rejection } from "../../support/rejection.js";

function digestOf(b: Buffer): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

describe("ContentStore", () => {
  let root: string;
  let store: ContentStore;
  const data = Buffer.from("hello, content-addressed world\n".repeat(1000));
  const digest = digestOf(data);

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cs-"));
    store = await ContentStore.open(root);
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it("stores a verified blob under blobs/sha256/<hex> and reports progress", async () => {
    const seen: number[] = [];
    const p = await store.writeStream(
      digest,
      data.length,
      Readable.from([data.subarray(0, 100), data.subarray(100)]),
      (d) => seen.push(d),
    );
    expect(p).to.equal(path.join(root, "content", "blobs", "sha256", digest.slice(7)));
    expect((await fs.readFile(p)).equals(data)).to.equal(true);
    expect(await store.has(digest)).to.equal(true);
    expect(await store.size(digest)).to.equal(data.length);
    expect(seen.at(-1)).to.equal(data.length);
    expect(await store.list()).to.deep.equal([digest]);
    expect(await fs.readdir(store.ingestDir)).to.deep.equal([]);
  });

  it("keeps nothing when the content does not match the digest", async () => {
    const bad = Buffer.from(data);
    bad[10] = 0;
    const err = await rejection(store.writeStream(digest, data.length, Readable.from([bad])));
    expect(err).to.be.instanceOf(DigestMismatchError);
    expect(await store.has(digest)).to.equal(false);
    expect(await store.list()).to.deep.equal([]);
    expect(await fs.readdir(store.ingestDir)).to.deep.equal([]);
  });

  it("keeps nothing when the size is wrong either way", async () => {
    for (const size of [data.length - 1, data.length + 1]) {
      const err = await rejection(store.writeStream(digest, size, Readable.from([data])));
      expect(err).to.be.instanceOf(DigestMismatchError);
    }
    expect(await store.list()).to.deep.equal([]);
    expect(await fs.readdir(store.ingestDir)).to.deep.equal([]);
  });

  it("keeps nothing when the source fails midway", async () => {
    const src = new PassThrough();
    const pending = rejection(store.writeStream(digest, data.length, src));
    src.write(data.subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 20));
    expect((await fs.readdir(store.ingestDir)).length).to.equal(1);
    src.destroy(new Error("connection reset"));
    const err = await pending;
    expect((err as Error).message).to.equal("connection reset");
    expect(await store.has(digest)).to.equal(false);
    expect(await fs.readdir(store.ingestDir)).to.deep.equal([]);
  });

  it("discards what a crash left in ingest/ when opened again, and nothing under blobs/ looks complete", async () => {
    const src = new PassThrough();
    void rejection(store.writeStream(digest, data.length, src));
    src.write(data.subarray(0, 5000));
    await new Promise((r) => setTimeout(r, 20));
    // "Crash": the process goes away with a partial file in ingest/.
    const partial = await fs.readdir(store.ingestDir);
    expect(partial.length).to.equal(1);
    expect(await store.has(digest)).to.equal(false);
    const reopened = await ContentStore.open(root);
    expect(await fs.readdir(reopened.ingestDir)).to.deep.equal([]);
    expect(await reopened.list()).to.deep.equal([]);
    src.destroy();
  });

  it("downloads once for concurrent writes of one digest", async () => {
    let opened = 0;
    const open = async (): Promise<Readable> => {
      opened++;
      await new Promise((r) => setTimeout(r, 20));
      return Readable.from([data]);
    };
    const paths = await Promise.all(
      Array.from({ length: 10 }, () => store.ensure(digest, data.length, open)),
    );
    expect(opened).to.equal(1);
    expect(new Set(paths).size).to.equal(1);
    await store.ensure(digest, data.length, open);
    expect(opened).to.equal(1);
  });

  it("shares a failure with the waiters and lets a later write retry", async () => {
    let opened = 0;
    const failing = async (): Promise<Readable> => {
      opened++;
      await new Promise((r) => setTimeout(r, 10));
      throw new Error("registry down");
    };
    const results = await Promise.allSettled([
      store.ensure(digest, data.length, failing),
      store.ensure(digest, data.length, failing),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(["rejected", "rejected"]);
    expect(opened).to.equal(1);
    await store.ensure(digest, data.length, async () => Readable.from([data]));
    expect(await store.has(digest)).to.equal(true);
  });

  it("does not consume a stream for a blob it already has", async () => {
    await store.writeStream(digest, data.length, Readable.from([data]));
    const again = new PassThrough();
    await store.writeStream(digest, data.length, again);
    expect(again.destroyed).to.equal(true);
  });

  it("reads JSON, deletes, and reports usage", async () => {
    const json = Buffer.from(JSON.stringify({ a: 1 }));
    const jd = digestOf(json);
    await store.writeBytes(jd, json);
    await store.writeStream(digest, data.length, Readable.from([data]));
    expect(await store.readJson(jd)).to.deep.equal({ a: 1 });
    const usage = await store.usage();
    expect(usage.bytes).to.equal(BigInt(json.length + data.length));
    expect(usage.inodes > 2n).to.equal(true);
    await store.delete(jd);
    await store.delete(jd);
    expect(await store.list()).to.deep.equal([digest]);
    expect((await store.usage()).bytes).to.equal(BigInt(data.length));
  });

  it("refuses malformed digests", async () => {
    expect(() => store.path("sha256:xyz")).to.throw(/digest/);
    expect(() => store.path("md5:" + "a".repeat(32))).to.throw(/digest/);
    expect(() => store.path(`sha256:${"a".repeat(64)}/../x`)).to.throw(/digest/);
  });
  describe("stream (a layer on its way to the unpack)", () => {
    /** A Writable that keeps what it gets. */
    function sink(): { out: PassThrough; got: () => Buffer } {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on("data", (c: Buffer) => chunks.push(c));
      return { out, got: () => Buffer.concat(chunks) };
    }

    it("passes a verified blob through, reports progress and stores nothing", async () => {
      const { out, got } = sink();
      const seen: number[] = [];
      await store.stream(
        digest,
        data.length,
        async () => Readable.from([data.subarray(0, 100), data.subarray(100)]),
        out,
        (d) => seen.push(d),
      );
      expect(got().equals(data)).to.equal(true);
      expect(out.writableFinished, "tap ended").to.equal(true);
      expect(seen.at(-1)).to.equal(data.length);
      expect(await store.list()).to.deep.equal([]);
      expect(await fs.readdir(store.ingestDir)).to.deep.equal([]);
    });

    it("rejects content that does not match the digest, after the tap saw it, and destroys the tap", async () => {
      const bad = Buffer.from(data);
      bad[10] = 0;
      const { out } = sink();
      const err = await rejection(
        store.stream(digest, data.length, async () => Readable.from([bad]), out),
      );
      expect(err).to.be.instanceOf(DigestMismatchError);
      expect(out.destroyed, "tap destroyed").to.equal(true);
      expect(await store.list()).to.deep.equal([]);
    });

    it("rejects a short or long blob", async () => {
      for (const size of [data.length - 1, data.length + 1]) {
        const { out } = sink();
        const err = await rejection(
          store.stream(digest, size, async () => Readable.from([data]), out),
        );
        expect(err).to.be.instanceOf(DigestMismatchError);
      }
    });

    it("reads a blob the store already holds instead of opening a download", async () => {
      await store.writeBytes(digest, data);
      const { out, got } = sink();
      let opened = false;
      await store.stream(
        digest,
        data.length,
        async () => {
          opened = true;
          return Readable.from([data]);
        },
        out,
      );
      expect(opened).to.equal(false);
      expect(got().equals(data)).to.equal(true);
    });
  });
});
