import { expect } from "chai";
import { mkdir, mkdtemp, rename, rm, utimes, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { silentLogger } from "../../../src/log.js";
import {
  parseExitCode,
  parseOomKillCount,
  readExitFile,
  wasOomKilled,
} from "../../../src/runtime/oci/exit-file.js";
import { ExitWatcher, type ExitEvent } from "../../../src/runtime/oci/exit-watcher.js";

async function until<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("runtime-oci: exit files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-exit-unit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("parseExitCode takes one signed integer and nothing else", () => {
    expect(parseExitCode("3")).to.equal(3);
    expect(parseExitCode("137\n")).to.equal(137);
    expect(parseExitCode("-1")).to.equal(-1);
    expect(parseExitCode("")).to.equal(undefined);
    expect(parseExitCode("3 4")).to.equal(undefined);
    expect(parseExitCode("0x10")).to.equal(undefined);
    expect(parseExitCode("99999999999")).to.equal(undefined);
  });

  it("readExitFile gives the code and the file's mtime in ns", async () => {
    await writeFile(path.join(dir, "c1"), "42");
    const when = new Date("2025-06-01T12:00:00.250Z");
    await utimes(path.join(dir, "c1"), when, when);
    expect(await readExitFile(dir, "c1")).to.deep.equal({
      exitCode: 42,
      finishedAt: BigInt(when.getTime()) * 1_000_000n,
    });
    expect(await readExitFile(dir, "missing")).to.equal(undefined);
    await writeFile(path.join(dir, "torn"), "");
    expect(await readExitFile(dir, "torn")).to.equal(undefined);
  });

  it("OOM: conmon's marker or the cgroup's oom_kill counter", async () => {
    const persist = path.join(dir, "persist");
    const cg = path.join(dir, "cg");
    await mkdir(persist);
    await mkdir(cg);
    expect(await wasOomKilled(persist)).to.equal(false);
    expect(await wasOomKilled(persist, cg)).to.equal(false);
    await writeFile(
      path.join(cg, "memory.oom_control"),
      "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    );
    expect(await wasOomKilled(persist, cg)).to.equal(false);
    await writeFile(
      path.join(cg, "memory.oom_control"),
      "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    );
    expect(await wasOomKilled(persist, cg)).to.equal(true);
    await writeFile(path.join(persist, "oom"), "");
    expect(await wasOomKilled(persist)).to.equal(true);
    expect(parseOomKillCount("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")).to.equal(1n);
    expect(parseOomKillCount("under_oom 0\n")).to.equal(undefined);
  });

  it("ExitWatcher reports files already there, new ones once each, and skips temp names", async () => {
    await writeFile(path.join(dir, "before"), "0");
    const events: ExitEvent[] = [];
    const w = new ExitWatcher(dir, (e) => events.push(e), {
      logger: silentLogger(),
      rescanIntervalMs: 60_000,
    });
    await w.start();
    try {
      expect(events.map((e) => [e.id, e.exitCode])).to.deep.equal([["before", 0]]);
      // conmon's g_file_set_contents: write a temp name, rename into place.
      await writeFile(path.join(dir, "after.AB12CD"), "137");
      await rename(path.join(dir, "after.AB12CD"), path.join(dir, "after"));
      const ev = await until(() => events.find((e) => e.id === "after"));
      expect(ev.exitCode).to.equal(137);
      expect(ev.finishedAt > 0n).to.equal(true);
      await w.rescan();
      await w.rescan();
      expect(events.map((e) => e.id).sort()).to.deep.equal(["after", "before"]);
      expect(events.some((e) => e.id.includes("."))).to.equal(false);
    } finally {
      w.close();
    }
  });

  it("ExitWatcher's rescan finds what the watch did not see, and forget() re-arms an id", async () => {
    const events: ExitEvent[] = [];
    const w = new ExitWatcher(
      dir,
      (e) => {
        events.push(e);
        if (events.length === 1) throw new Error("a handler that throws must not stop the watcher");
      },
      { logger: silentLogger(), rescanIntervalMs: 50 },
    );
    await w.start();
    try {
      await writeFile(path.join(dir, "x"), "1");
      await until(() => events.find((e) => e.id === "x"));
      w.forget("x");
      await w.rescan();
      expect(events.filter((e) => e.id === "x")).to.have.length(2);
    } finally {
      w.close();
    }
  });

  it("ExitWatcher remembers exits only while their files exist", async () => {
    const events: ExitEvent[] = [];
    const w = new ExitWatcher(dir, (e) => events.push(e), {
      logger: silentLogger(),
      rescanIntervalMs: 60_000,
    });
    await w.start();
    try {
      const ids = Array.from({ length: 50 }, (_, i) => `c${i}`);
      await Promise.all(ids.map((id) => writeFile(path.join(dir, id), "0")));
      await w.rescan();
      expect(events).to.have.length(50);
      expect(w.remembered).to.equal(50);
      // Removal of containers and pods deletes their exit files.
      await Promise.all(ids.slice(0, 40).map((id) => rm(path.join(dir, id))));
      await w.rescan();
      expect(w.remembered).to.equal(10);
      await w.rescan();
      expect(events).to.have.length(50); // the 10 still there are not reported again
    } finally {
      w.close();
    }
  });
});
