// berthd's own mount(2) and umount2(2) calls (through koffi), on tmpfs and bind mounts of its
// own temp dirs (root).
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isMountPoint } from "../../../src/runtime/sandbox/pod-files.js";
import { ProcessRunner } from "../../../src/util/command.js";
import {
  MNT_DETACH,
  MS_BIND,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  MS_REMOUNT,
  MAX_CALLS_IN_FLIGHT,
  MountCallError,
  mountCallLoad,
  syscallMounts,
  type MountCalls,
} from "../../../src/util/mount-calls.js";
import { rejection } from "../../support/rejection.js";

/** The mount's per-mount options and its filesystem's, as findmnt(8) prints them. */
function mountOptions(target: string): { options: string[]; fsType: string } {
  const out = execFileSync("findmnt", ["-n", "-o", "OPTIONS,FSTYPE", "--mountpoint", target], {
    encoding: "utf8",
  })
    .trim()
    .split(/\s+/);
  return { options: (out[0] ?? "").split(","), fsType: out[1] ?? "" };
}

describe("util: mount(2) and umount2(2) calls (root)", function () {
  let dir: string;
  let sys: MountCalls;
  const mounted: string[] = [];

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    const loaded = syscallMounts();
    if (!loaded) throw new Error("koffi did not load on this host");
    sys = loaded;
  });

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-mountcalls-"));
  });

  afterEach(async function () {
    for (const m of mounted.splice(0).reverse()) {
      while (await isMountPoint(m)) execFileSync("umount", ["-l", m]);
    }
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("mounts a tmpfs with its flags and data, and unmounts it", async function () {
    const target = path.join(dir, "shm");
    await fs.mkdir(target);
    await sys.mount("shm", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=1777");
    mounted.push(target);
    const { options, fsType } = mountOptions(target);
    expect(fsType).to.equal("tmpfs");
    expect(options).to.include.members(["rw", "nosuid", "nodev", "noexec", "size=1024k"]);
    expect(((await fs.stat(target)).mode & 0o7777).toString(8)).to.equal("1777");
    await sys.umount(target, 0);
    expect(await isMountPoint(target)).to.equal(false);
  });

  it("bind-mounts a dir and remounts it read-only", async function () {
    const [src, target] = [path.join(dir, "src"), path.join(dir, "target")];
    await fs.mkdir(src);
    await fs.mkdir(target);
    await fs.writeFile(path.join(src, "f"), "x");
    await sys.mount(src, target, "", MS_BIND, "");
    mounted.push(target);
    await sys.mount("", target, "", MS_REMOUNT | MS_BIND | MS_RDONLY, "");
    expect(await fs.readFile(path.join(target, "f"), "utf8")).to.equal("x");
    const err = await rejection(fs.writeFile(path.join(target, "g"), "y"));
    expect((err as NodeJS.ErrnoException).code).to.equal("EROFS");
    expect(mountOptions(target).options).to.include("ro");
  });

  it("fails with the errno's name: a missing target, a dir that is not mounted", async function () {
    const missing = path.join(dir, "missing");
    const err = await rejection(sys.mount("shm", missing, "tmpfs", 0, ""));
    expect(err).to.be.instanceOf(MountCallError);
    expect((err as MountCallError).code).to.equal("ENOENT");
    expect((err as MountCallError).errno).to.equal(os.constants.errno.ENOENT);
    expect(String(err)).to.include(`mount ${missing}: ENOENT`);
    const notMounted = await rejection(sys.umount(dir, 0));
    expect((notMounted as MountCallError).code).to.equal("EINVAL");
  });

  it("detaches a busy mount with MNT_DETACH where a plain umount fails with EBUSY", async function () {
    const target = path.join(dir, "busy");
    await fs.mkdir(target);
    await sys.mount("busy", target, "tmpfs", 0, "size=1m");
    mounted.push(target);
    const fh = await fs.open(path.join(target, "open"), "w");
    try {
      const err = await rejection(sys.umount(target, 0));
      expect((err as MountCallError).code).to.equal("EBUSY");
      await sys.umount(target, MNT_DETACH);
      expect(await isMountPoint(target)).to.equal(false);
      await fh.writeFile("still open");
    } finally {
      await fh.close();
    }
  });

  it("queues a burst past koffi's 256 calls at once instead of failing it", async function () {
    // 300 umounts of a dir that is not mounted: each fails with EINVAL, none with koffi's limit.
    const calls = Array.from({ length: 300 }, () => rejection(sys.umount(dir, 0)));
    const during = mountCallLoad();
    expect(during.inFlight).to.equal(MAX_CALLS_IN_FLIGHT);
    expect(during.queued).to.equal(300 - MAX_CALLS_IN_FLIGHT);
    const codes = new Set((await Promise.all(calls)).map((e) => (e as MountCallError).code));
    expect([...codes]).to.deep.equal(["EINVAL"]);
    expect(mountCallLoad()).to.deep.equal({ inFlight: 0, queued: 0 });
  });

  it("is what a ProcessRunner offers, unless told to start mount(8)", function () {
    expect(new ProcessRunner().mounts()).to.equal(sys);
    expect(new ProcessRunner({ directMounts: false }).mounts()).to.equal(undefined);
  });
});
