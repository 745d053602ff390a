// The layer unpack in the worker thread (WorkerLayerUnpack over UnpackThread) against the one
// in process (LayerUnpack): the same tree, results, commands and errors, whatever the
// compression and however the bytes are cut; one worker for every unpack, ended when idle.
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FailedPreconditionError, InternalError } from "../../../src/errors.js";
import type { UnpackLog } from "../../../src/image/unpack/layer-writer.js";
import { UnpackThread } from "../../../src/image/unpack/unpack-thread.js";
import {
  LayerUnpack,
  type LayerUnpackOptions,
  type UnpackLayerResult,
} from "../../../src/image/unpack/unpack-layer.js";
import { UnsafeLayerEntryError } from "../../../src/image/unpack/unsafe-entry-error.js";
import { WorkerLayerUnpack } from "../../../src/image/unpack/worker-unpack.js";
import type { CommandRunner, RunResult } from "../../../src/util/command.js";
import {
  MEDIA_TYPES,
  buildTar,
  describeTree,
  writeBlob,
  type FixtureCompression,
  type FixtureEntry,
} from "../../integration/image-unpack/layer-fixtures.js";

/** Records calls with the target dir written as "<t>"; mknod leaves an empty file. */
class FakeRunner implements CommandRunner {
  readonly calls: string[][] = [];
  constructor(private readonly target: string) {}
  async run(file: string, args: readonly string[]): Promise<RunResult> {
    this.calls.push([file, ...args.map((a) => a.replace(this.target, "<t>"))]);
    if (file === "mknod") await fs.writeFile(args[3]!, "", { flag: "wx" });
    const none = Buffer.alloc(0);
    return { code: 0, signal: null, stdout: none, stderr: none, timedOut: false, truncated: false };
  }
}

class RecordingLog implements UnpackLog {
  readonly lines: string[] = [];
  debug(_obj: object, msg: string): void {
    this.lines.push(`debug ${msg}`);
  }
  warn(_obj: object, msg: string): void {
    this.lines.push(`warn ${msg}`);
  }
}

type Unpacker = LayerUnpack | WorkerLayerUnpack;

/** Writes `blob` into the unpack in pieces of the given sizes (cycling), then ends it. */
async function feed(u: Unpacker, blob: Buffer, pieces: readonly number[]): Promise<void> {
  let off = 0;
  for (let i = 0; off < blob.length; i++) {
    const n = pieces[i % pieces.length]!;
    if (!u.input.write(blob.subarray(off, off + n))) {
      await new Promise((r) => u.input.once("drain", r));
    }
    off += n;
  }
  u.input.end();
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

describe("image unpack: in the worker thread (no root)", function () {
  this.timeout(20_000);
  let tmp: string;
  let thread: UnpackThread;

  beforeEach(async function () {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-unpack-worker-"));
    thread = new UnpackThread(50);
  });

  afterEach(async function () {
    await thread.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  async function target(name: string): Promise<string> {
    const t = path.join(tmp, name);
    await fs.mkdir(t);
    return t;
  }

  function options(t: string, mediaType: string, log = new RecordingLog()): LayerUnpackOptions {
    return {
      mediaType,
      target: t,
      runner: new FakeRunner(t),
      logger: log,
      privileged: false,
      what: `layer ${path.basename(t)}`,
    };
  }

  const big = randomBytes(700 * 1024); // crosses several of the worker's 256 KiB buffers
  const entries: FixtureEntry[] = [
    { name: "d/", mode: 0o750 },
    { name: "d/f", content: "hello", mode: 0o640 },
    { name: "d/big", content: big },
    { name: "d/l", type: "symlink", linkname: "/nowhere" },
    { name: "d/h", type: "link", linkname: "d/f" },
    { name: "w/.wh.gone", content: "" },
    { name: "o/.wh..wh..opq", content: "" },
    { name: "x", content: "attr", pax: { "SCHILY.xattr.user.k": "v" } },
    { name: "null", type: "character-device", devmajor: 1, devminor: 3 },
    { name: "p", type: "fifo", mode: 0o600 },
    { name: "e/deep/er/file", content: Buffer.alloc(300 * 1024, 9) },
  ];

  for (const compression of ["gzip", "zstd", "none"] as FixtureCompression[]) {
    it(`unpacks a ${compression} layer exactly as in process, bytes cut any way`, async function () {
      thread.setIdleMs(10_000); // kept between the unpacks however slow the host
      const tarball = await buildTar(entries);
      const { blob } = await writeBlob(tmp, `blob-${compression}`, tarball, compression);
      const bytes = await fs.readFile(blob);
      const runs: {
        tree: string[];
        result: UnpackLayerResult;
        calls: string[][];
        log: string[];
      }[] = [];
      for (const [i, pieces] of [[1 << 20], [1 << 20], [7000, 100_000, 3], [300_000]].entries()) {
        const t = await target(`${compression}-${i}`);
        const opts = options(t, MEDIA_TYPES[compression]);
        const u = i === 0 ? new LayerUnpack(opts) : new WorkerLayerUnpack(opts, thread);
        await feed(u, bytes, pieces);
        await u.done;
        const result = await u.finish([]);
        await u.close();
        expect(sha(await fs.readFile(path.join(t, "d/big")))).to.equal(sha(big));
        const tree = (await describeTree(t)).filter((l) => !l.startsWith("d/big "));
        runs.push({
          tree,
          result,
          calls: (opts.runner as FakeRunner).calls,
          log: (opts.logger as RecordingLog).lines,
        });
      }
      expect(runs[0]!.result.compression).to.equal(compression);
      expect(runs[0]!.calls.map((c) => c[0])).to.deep.equal([
        "mknod",
        "setfattr",
        "setfattr",
        "mknod",
      ]);
      expect(runs[0]!.log).to.deep.equal(["warn device node skipped: unpacking without root"]);
      for (const r of runs.slice(1)) expect(r).to.deep.equal(runs[0]);
      expect(thread.started, "one worker for every unpack").to.equal(1);
    });
  }

  it("rejects an unsafe entry and a corrupt blob with the errors of the in-process unpack", async function () {
    const escape = await buildTar([{ name: "../x", content: "x" }]);
    let caught: unknown;
    const u1 = new WorkerLayerUnpack(options(await target("a"), MEDIA_TYPES.none), thread);
    await feed(u1, escape, [1 << 20]);
    await u1.done.catch((e: unknown) => (caught = e));
    await u1.close();
    expect(caught).to.be.instanceOf(UnsafeLayerEntryError);
    expect((caught as UnsafeLayerEntryError).entry).to.equal("../x");
    expect((caught as UnsafeLayerEntryError).kind).to.equal("FAILED_PRECONDITION");
    expect(await fs.readdir(tmp)).to.not.include("x");

    const { blob } = await writeBlob(tmp, "blob", await buildTar(entries), "gzip");
    const cut = (await fs.readFile(blob)).subarray(0, 30);
    caught = undefined;
    const u2 = new WorkerLayerUnpack(options(await target("b"), MEDIA_TYPES.gzip), thread);
    await feed(u2, cut, [1 << 20]);
    await u2.done.catch((e: unknown) => (caught = e));
    await u2.close();
    expect(caught).to.be.instanceOf(FailedPreconditionError);
    expect(String(caught)).to.include("cannot unpack layer b");
  });

  it("fails an unpack whose input is destroyed mid-way, and then writes nothing more", async function () {
    const tarball = await buildTar([
      { name: "big", content: Buffer.alloc(1 << 20, 1) },
      { name: "after", content: "x" },
    ]);
    const t = await target("cut");
    const u = new WorkerLayerUnpack(options(t, MEDIA_TYPES.none), thread);
    u.input.write(tarball.subarray(0, 600_000));
    u.input.destroy(new Error("download cut"));
    let caught: unknown;
    await u.done.catch((e: unknown) => (caught = e));
    await u.close();
    expect(caught).to.be.instanceOf(FailedPreconditionError);
    expect(String(caught)).to.include("layer cut");
    const before = await describeTree(t);
    await new Promise((r) => setTimeout(r, 100));
    expect(await describeTree(t)).to.deep.equal(before);
    expect(before.some((l) => l.startsWith("after "))).to.equal(false);
  });

  it("fails the unpacks of a worker that dies with INTERNAL; the next unpack gets a new worker", async function () {
    const tarball = await buildTar([{ name: "big", content: Buffer.alloc(1 << 20, 1) }]);
    const u = new WorkerLayerUnpack(options(await target("dead"), MEDIA_TYPES.none), thread);
    u.input.write(tarball.subarray(0, 100_000));
    await thread.stop();
    let caught: unknown;
    await u.done.catch((e: unknown) => (caught = e));
    await u.close();
    expect(caught).to.be.instanceOf(InternalError);
    expect((caught as InternalError).kind).to.equal("INTERNAL");
    expect(thread.running).to.equal(false);

    const again = new WorkerLayerUnpack(options(await target("again"), MEDIA_TYPES.none), thread);
    await feed(again, tarball, [1 << 20]);
    await again.done;
    await again.finish([]);
    await again.close();
    expect(thread.started).to.equal(2);
  });

  it("keeps one worker while unpacks come, at once or one after another, and ends it when idle", async function () {
    thread.setIdleMs(10_000);
    const tarball = await buildTar([{ name: "f", content: randomBytes(400 * 1024) }]);
    const one = async (name: string): Promise<void> => {
      const u = new WorkerLayerUnpack(options(await target(name), MEDIA_TYPES.none), thread);
      await feed(u, tarball, [65536]);
      await u.done;
      await u.finish([]);
      await u.close();
    };
    await Promise.all([one("a"), one("b"), one("c")]);
    await one("d");
    expect(thread.started).to.equal(1);
    expect(thread.running).to.equal(true);
    expect(thread.spareBuffers, "input buffers kept for the next layers").to.be.above(0);
    // A short idle time, then an unpack and idle for longer than it: the worker is gone.
    thread.setIdleMs(50);
    await one("e");
    await new Promise((r) => setTimeout(r, 300));
    expect(thread.running).to.equal(false);
    expect(thread.spareBuffers, "buffers dropped with the worker").to.equal(0);
  });
});
