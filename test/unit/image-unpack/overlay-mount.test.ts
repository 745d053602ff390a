// How mountOverlay and unmount mount: with the runner's mount(2) calls where it has them (and
// mount(8) for relative lower dirs, which need a working directory of their own), else mount(8).
import { expect } from "chai";
import { mountOverlay, unmount } from "../../../src/image/overlay-mount.js";
import type { CommandRunner, RunResult } from "../../../src/util/command.js";
import {
  MS_BIND,
  MS_RDONLY,
  MS_REMOUNT,
  MountCallError,
  type MountCalls,
} from "../../../src/util/mount-calls.js";
import { rejection } from "../../support/rejection.js";

const SNAPS = "/var/lib/berth/snapshots";

class FakeHost implements CommandRunner {
  runs: { file: string; args: readonly string[]; cwd: string | undefined }[] = [];
  mountCalls: unknown[][] = [];
  umountCalls: unknown[][] = [];
  umountErrno: number | undefined;
  constructor(private readonly direct: boolean) {}
  async run(
    file: string,
    args: readonly string[],
    opts?: { cwd?: string | undefined },
  ): Promise<RunResult> {
    this.runs.push({ file, args, cwd: opts?.cwd });
    const empty = Buffer.alloc(0);
    return {
      code: 0,
      signal: null,
      stdout: empty,
      stderr: empty,
      timedOut: false,
      truncated: false,
    };
  }
  mounts(): MountCalls | undefined {
    if (!this.direct) return undefined;
    return {
      mount: async (...args) => {
        this.mountCalls.push(args);
      },
      umount: async (target, flags) => {
        this.umountCalls.push([target, flags]);
        if (this.umountErrno !== undefined)
          throw new MountCallError("umount", target, this.umountErrno);
      },
    };
  }
}

describe("image unpack: how overlays are mounted", function () {
  it("calls mount(2) for an overlay whose options fit, starting no process", async function () {
    const host = new FakeHost(true);
    await mountOverlay({
      lowerDirs: [`${SNAPS}/2/fs`, `${SNAPS}/1/fs`],
      upperDir: "/c/upper",
      workDir: "/c/work",
      target: "/c/rootfs",
      runner: host,
    });
    expect(host.runs).to.deep.equal([]);
    expect(host.mountCalls).to.deep.equal([
      [
        "overlay",
        "/c/rootfs",
        "overlay",
        0,
        `lowerdir=${SNAPS}/2/fs:${SNAPS}/1/fs,upperdir=/c/upper,workdir=/c/work`,
      ],
    ]);
  });

  it("binds one read-only layer and remounts it read-only", async function () {
    const host = new FakeHost(true);
    await mountOverlay({ lowerDirs: [`${SNAPS}/1/fs`], target: "/c/ro", runner: host });
    expect(host.mountCalls).to.deep.equal([
      [`${SNAPS}/1/fs`, "/c/ro", "", MS_BIND, ""],
      ["", "/c/ro", "", MS_REMOUNT | MS_BIND | MS_RDONLY, ""],
    ]);
  });

  it("starts mount(8) in the snapshots dir for relative lower dirs", async function () {
    const host = new FakeHost(true);
    const lowerDirs = Array.from({ length: 150 }, (_, i) => `${SNAPS}/${150 - i}/fs`);
    await mountOverlay({
      lowerDirs,
      upperDir: "/c/u",
      workDir: "/c/w",
      target: "/c/r",
      runner: host,
    });
    expect(host.mountCalls).to.deep.equal([]);
    expect(host.runs).to.have.length(1);
    expect(host.runs[0]!.file).to.equal("mount");
    expect(host.runs[0]!.cwd).to.equal(SNAPS);
    expect(host.runs[0]!.args.join(" ")).to.include("lowerdir=150/fs:149/fs:");
  });

  it("starts mount(8) when the runner has no mount calls", async function () {
    const host = new FakeHost(false);
    await mountOverlay({ lowerDirs: [`${SNAPS}/1/fs`], target: "/c/ro", runner: host });
    expect(host.runs.map((r) => r.args)).to.deep.equal([
      ["--bind", `${SNAPS}/1/fs`, "/c/ro"],
      ["-o", "remount,bind,ro", "/c/ro"],
    ]);
  });

  it("unmounts with umount2: not mounted (EINVAL) or gone (ENOENT) is done, EBUSY is an error", async function () {
    const host = new FakeHost(true);
    for (const errno of [22, 2]) {
      host.umountErrno = errno;
      await unmount("/c/rootfs", host);
    }
    host.umountErrno = 16;
    const caught = await rejection(unmount("/c/rootfs", host));
    expect((caught as MountCallError).code).to.equal("EBUSY");
    expect(host.umountCalls).to.deep.equal([
      ["/c/rootfs", 0],
      ["/c/rootfs", 0],
      ["/c/rootfs", 0],
    ]);
    expect(host.runs).to.deep.equal([]);
  });
});
