import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AlreadyExistsError, InvalidArgumentError } from "../../../src/errors.js";
import type { CommandRunner, RunOptions, RunResult } from "../../../src/util/command.js";
import { MNT_DETACH, MountCallError } from "../../../src/util/mount-calls.js";
import { rejection } from "../../support/rejection.js";
import {
  createNetns,
  listNetns,
  newNetnsName,
  releaseMounts,
  removeNetns,
} from "../../../src/network/netns.js";

class RecordingRunner implements CommandRunner {
  calls: { file: string; args: readonly string[] }[] = [];
  constructor(private readonly code = 0) {}
  async run(file: string, args: readonly string[], _opts?: RunOptions): Promise<RunResult> {
    this.calls.push({ file, args });
    return {
      code: this.code,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: Buffer.from(this.code ? "boom" : ""),
      timedOut: false,
      truncated: false,
    };
  }
}

describe("network/netns", () => {
  let dir: string;
  let mountinfo: string;
  beforeEach(async () => {
    dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "berth-netns-")));
    mountinfo = path.join(dir, "mountinfo");
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("creates the file and runs unshare --net=<file> true", async () => {
    const runner = new RecordingRunner();
    const p = await createNetns(runner, path.join(dir, "ns"), "pod1");
    expect(p).to.equal(path.join(dir, "ns", "pod1"));
    expect(runner.calls).to.deep.equal([{ file: "unshare", args: [`--net=${p}`, "true"] }]);
    expect((await fs.stat(p)).isFile()).to.equal(true);
    await fs.rm(p);
  });

  it("refuses bad names and existing files; leaves nothing when unshare fails", async () => {
    const ok = new RecordingRunner();
    let caught: unknown;
    try {
      await createNetns(ok, dir, "../x");
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(InvalidArgumentError);
    await fs.writeFile(path.join(dir, "taken"), "");
    caught = undefined;
    try {
      await createNetns(ok, dir, "taken");
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(AlreadyExistsError);
    caught = undefined;
    try {
      await createNetns(new RecordingRunner(1), dir, "failing");
    } catch (err) {
      caught = err;
    }
    expect(String(caught)).to.match(/cannot create network namespace .*failing/);
    expect(await fs.readdir(dir)).to.not.include("failing");
  });

  it("removes idempotently: unmounts only what is mounted", async () => {
    const file = path.join(dir, "p1");
    await fs.writeFile(file, "");
    await fs.writeFile(mountinfo, "");
    const runner = new RecordingRunner();
    await removeNetns(runner, file, undefined, mountinfo);
    expect(runner.calls).to.deep.equal([]);
    expect(await fs.readdir(dir)).to.deep.equal(["mountinfo"]);
    await removeNetns(runner, file, undefined, mountinfo);
    expect(runner.calls).to.deep.equal([]);
  });

  it("unmounts a mounted file lazily and reports a failure to unmount", async () => {
    const file = path.join(dir, "p2");
    await fs.writeFile(file, "");
    await fs.writeFile(mountinfo, `40 22 0:4 net:[1] ${file} rw - nsfs nsfs rw\n`);
    const failing = new RecordingRunner(1);
    let caught: unknown;
    try {
      await removeNetns(failing, file, undefined, mountinfo);
    } catch (err) {
      caught = err;
    }
    expect(String(caught)).to.include(`cannot unmount ${file}: boom`);
    expect(failing.calls[0]).to.deep.equal({ file: "umount", args: ["--lazy", file] });
  });

  it("releases several mounts with one umount: files deleted, dirs kept, unmounted skipped", async () => {
    const [net, ipc, gone] = ["net", "ipc", "gone"].map((n) => path.join(dir, n));
    const shm = path.join(dir, "shm");
    await fs.writeFile(net!, "");
    await fs.writeFile(ipc!, "");
    await fs.mkdir(shm);
    await fs.writeFile(
      mountinfo,
      [
        `40 22 0:4 net:[1] ${net} rw - nsfs nsfs rw`,
        `41 22 0:4 ipc:[2] ${ipc} rw - nsfs nsfs rw`,
        `42 22 0:50 / ${shm} rw - tmpfs shm rw`,
      ].join("\n") + "\n",
    );
    const runner = new RecordingRunner();
    // The fake umount unmounts nothing: mountinfo is emptied as if it had, after its call.
    const unmounting = {
      calls: runner.calls,
      run: async (file: string, args: readonly string[]) => {
        const r = await runner.run(file, args);
        await fs.writeFile(mountinfo, "");
        return r;
      },
    };
    await releaseMounts(unmounting, [net!, ipc!, gone!, ""], [shm], undefined, mountinfo);
    expect(runner.calls).to.deep.equal([{ file: "umount", args: ["--lazy", net, ipc, shm] }]);
    expect((await fs.readdir(dir)).sort()).to.deep.equal(["mountinfo", "shm"]);
  });

  it("releases mounts with umount2 calls where the runner offers them, no process", async () => {
    const [net, shm] = ["net", "shm"].map((n) => path.join(dir, n));
    await fs.writeFile(net!, "");
    await fs.mkdir(shm!);
    await fs.writeFile(
      mountinfo,
      [`40 22 0:4 net:[1] ${net} rw - nsfs nsfs rw`, `42 22 0:50 / ${shm} rw - tmpfs shm rw`]
        .join("\n")
        .concat("\n"),
    );
    const runner = new RecordingRunner();
    const umounts: [string, number][] = [];
    const withCalls: CommandRunner = {
      run: (file, args) => runner.run(file, args),
      mounts: () => ({
        mount: () => Promise.reject(new Error("not expected")),
        umount: async (target, flags) => {
          umounts.push([target, flags]);
          await fs.writeFile(mountinfo, "");
        },
      }),
    };
    await releaseMounts(withCalls, [net!], [shm!], undefined, mountinfo);
    expect(runner.calls).to.deep.equal([]);
    expect(umounts.sort()).to.deep.equal([
      [net, MNT_DETACH],
      [shm, MNT_DETACH],
    ]);
    expect((await fs.readdir(dir)).sort()).to.deep.equal(["mountinfo", "shm"]);
  });

  it("names the umount2 failure when a mount stays", async () => {
    const net = path.join(dir, "net");
    await fs.writeFile(net, "");
    await fs.writeFile(mountinfo, `40 22 0:4 net:[1] ${net} rw - nsfs nsfs rw\n`);
    const failing: CommandRunner = {
      run: () => Promise.reject(new Error("no process expected")),
      mounts: () => ({
        mount: () => Promise.reject(new Error("not expected")),
        umount: (target) => Promise.reject(new MountCallError("umount", target, 16)),
      }),
    };
    const caught = await rejection(releaseMounts(failing, [net], [], undefined, mountinfo));
    expect(String(caught)).to.include(`cannot unmount ${net}: umount ${net}: EBUSY`);
    // The file stays while it is still a mount point.
    expect(await fs.readdir(dir)).to.include("net");
  });

  it("lists netns files with their mount state", async () => {
    const ns = path.join(dir, "netns");
    await fs.mkdir(ns);
    await fs.writeFile(path.join(ns, "b"), "");
    await fs.writeFile(path.join(ns, "a"), "");
    await fs.writeFile(mountinfo, `40 22 0:4 net:[1] ${path.join(ns, "b")} rw - nsfs nsfs rw\n`);
    expect(await listNetns(ns, mountinfo)).to.deep.equal([
      { name: "a", path: path.join(ns, "a"), mounted: false },
      { name: "b", path: path.join(ns, "b"), mounted: true },
    ]);
    expect(await listNetns(path.join(dir, "missing"), mountinfo)).to.deep.equal([]);
  });

  it("makes distinct valid names", () => {
    const a = newNetnsName();
    expect(a).to.match(/^berth-[0-9a-f]{16}$/);
    expect(newNetnsName()).to.not.equal(a);
  });
});
