import { spawn, spawnSync } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { PidLock, processStartTime } from "../../../src/util/pid-lock.js";

describe("PidLock", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-pidlock-"));
    file = path.join(dir, "x.lock");
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("is exclusive while held and free again once released", async () => {
    const lock = await PidLock.acquire(file, "thing");
    expect(await fs.readFile(file, "utf8")).to.match(new RegExp(`^${process.pid} \\d+\\n$`));
    // A live holder (this very process) refuses a second taker.
    try {
      await PidLock.acquire(file, "thing");
      expect.fail("taken twice");
    } catch (err) {
      expect((err as Error).message).to.match(/thing is in use by another berthd \(pid \d+/);
    }
    await lock.release();
    expect(existsSync(file)).to.equal(false);
    await (await PidLock.acquire(file, "thing")).release();
    expect((await fs.readdir(dir)).length).to.equal(0);
  });

  it("takes over from a dead holder and from a reused pid, never from a live one", async () => {
    const dead = spawnSync("true").pid;
    await fs.writeFile(file, `${dead} 12345\n`);
    await (await PidLock.acquire(file, "thing")).release();

    // This process's pid with another start time: the pid was reused after a crash.
    await fs.writeFile(file, `${process.pid} 1\n`);
    await (await PidLock.acquire(file, "thing")).release();

    const sleeper = spawn("sleep", ["30"]);
    try {
      const start = await processStartTime(sleeper.pid!);
      await fs.writeFile(file, `${sleeper.pid} ${start}\n`);
      await PidLock.acquire(file, "thing").then(
        () => expect.fail("took a live process's lock"),
        (err: unknown) => expect(String(err)).to.include(`pid ${sleeper.pid}`),
      );
      expect(await fs.readFile(file, "utf8")).to.equal(`${sleeper.pid} ${start}\n`);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  it("release leaves a lock that is no longer its own", async () => {
    const lock = await PidLock.acquire(file, "thing");
    await fs.writeFile(file, "1 1\n");
    await lock.release();
    expect(await fs.readFile(file, "utf8")).to.equal("1 1\n");
  });
});
