import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { readOptionalText } from "../../../src/cgroup/cgroup-files.js";
import { readCgroupStats } from "../../../src/cgroup/read-stats.js";
import { WORKER_SOURCE, WorkerFileReader } from "../../../src/cgroup/worker-file-reader.js";
import { fixtureSetup } from "./fixture-paths.js";

describe("WorkerFileReader", () => {
  let dir: string;
  let reader: WorkerFileReader;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-unit-"));
    reader = new WorkerFileReader();
  });
  after(async () => {
    await reader.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("reads many files issued together, each with its own content", async () => {
    const files = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const f = path.join(dir, `f${i}`);
        await fs.writeFile(f, `content ${i}\n`);
        return f;
      }),
    );
    const texts = await Promise.all(files.map((f) => reader.read(f)));
    expect(texts).to.deep.equal(files.map((_, i) => `content ${i}\n`));
  });

  it("rejects a missing file with its errno code, which readOptionalText treats as absent", async () => {
    const missing = path.join(dir, "nope");
    try {
      await reader.read(missing);
      expect.fail("read a missing file");
    } catch (err) {
      expect((err as { code: string }).code).to.equal("ENOENT");
    }
    const errors: string[] = [];
    expect(await readOptionalText(missing, (f) => errors.push(f), reader)).to.equal(undefined);
    expect(errors).to.deep.equal([]);
    expect(await readOptionalText(dir, (f) => errors.push(f), reader)).to.equal(undefined);
    expect(errors).to.deep.equal([dir]); // EISDIR is a real error, reported
  });

  for (const mode of ["v1", "v2", "hybrid"] as const) {
    it(`gives readCgroupStats the same ${mode} reading as the default reader`, async () => {
      const setup = fixtureSetup(mode);
      const cgroups: Record<typeof mode, string> = {
        v1: "/kubepods/pod123/abc",
        hybrid: "/kubepods/pod456/def",
        v2: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice/cri-berth-abc.scope",
      };
      const plain = await readCgroupStats(setup, cgroups[mode]);
      const viaWorker = await readCgroupStats(setup, cgroups[mode], { reader });
      expect(plain?.cpu?.usageNs).to.be.a("bigint");
      expect(plain?.memory?.usage).to.be.a("bigint");
      expect(viaWorker).to.deep.equal(plain);
    });
  }
});

describe("WorkerFileReader when its worker fails", () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-unit-"));
    await fs.writeFile(path.join(dir, "ok"), "fine\n");
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  // A worker that throws (uncaught, so the thread dies) when asked for a file named "boom".
  const throwing = WORKER_SOURCE.replace(
    "const results =",
    'if (files.some((f) => f.endsWith("/boom"))) throw new Error("worker blew up");\n  const results =',
  );
  // A worker that exits without an error event.
  const exiting = WORKER_SOURCE.replace(
    "const results =",
    'if (files.some((f) => f.endsWith("/boom"))) process.exit(3);\n  const results =',
  );

  for (const [kind, source] of [
    ["throws", throwing],
    ["exits", exiting],
  ] as const) {
    it(`rejects the pending reads and answers later ones from a new worker when it ${kind}`, async () => {
      const failures: Error[] = [];
      const reader = new WorkerFileReader({ source, onWorkerFailed: (e) => failures.push(e) });
      try {
        expect(await reader.read(path.join(dir, "ok"))).to.equal("fine\n");
        // Same tick: one batch, both reads lost with the worker.
        const lost = await Promise.allSettled([
          reader.read(path.join(dir, "ok")),
          reader.read(path.join(dir, "boom")),
        ]);
        expect(lost.map((r) => r.status)).to.deep.equal(["rejected", "rejected"]);
        expect(failures).to.have.length(1);
        const again = await Promise.race([
          reader.read(path.join(dir, "ok")),
          new Promise<string>((_, rej) => setTimeout(() => rej(new Error("hung")), 3000)),
        ]);
        expect(again).to.equal("fine\n");
        expect(reader.started).to.equal(2);
      } finally {
        await reader.close();
      }
    });
  }
});
