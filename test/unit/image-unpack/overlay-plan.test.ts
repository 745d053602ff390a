import { expect } from "chai";
import {
  MOUNT_DATA_MAX,
  commonParent,
  planOverlayMount,
} from "../../../src/image/overlay-mount.js";
import { FailedPreconditionError, InvalidArgumentError } from "../../../src/errors.js";

const SNAPS = "/var/lib/berth/snapshots";
const lowers = (n: number, base = SNAPS): string[] =>
  Array.from({ length: n }, (_, i) => `${base}/${n - i}/fs`);

describe("image unpack: overlay mount plans", function () {
  it("uses absolute paths while they fit", function () {
    const plan = planOverlayMount({
      lowerDirs: lowers(2),
      upperDir: "/c/upper",
      workDir: "/c/work",
    });
    expect(plan).to.deep.equal({
      kind: "overlay",
      options: `lowerdir=${SNAPS}/2/fs:${SNAPS}/1/fs,upperdir=/c/upper,workdir=/c/work`,
      cwd: undefined,
    });
  });

  it("switches to paths relative to the snapshots dir for tall images", function () {
    const plan = planOverlayMount({
      lowerDirs: lowers(150),
      upperDir: "/c/upper",
      workDir: "/c/work",
    });
    expect(plan.kind).to.equal("overlay");
    if (plan.kind !== "overlay") return;
    expect(plan.cwd).to.equal(SNAPS);
    expect(plan.options.startsWith("lowerdir=150/fs:149/fs:")).to.equal(true);
    expect(plan.options.endsWith(":1/fs,upperdir=/c/upper,workdir=/c/work")).to.equal(true);
    expect(plan.options.length).to.be.at.most(MOUNT_DATA_MAX);
  });

  it("fails clearly when even relative paths do not fit", function () {
    expect(() => planOverlayMount({ lowerDirs: lowers(700) })).to.throw(
      FailedPreconditionError,
      "700 layers",
    );
  });

  it("mounts one read-only layer as a bind mount, one layer with an upper as overlay", function () {
    expect(planOverlayMount({ lowerDirs: lowers(1) })).to.deep.equal({
      kind: "bind-ro",
      source: `${SNAPS}/1/fs`,
    });
    const rw = planOverlayMount({ lowerDirs: lowers(1), upperDir: "/u", workDir: "/w" });
    expect(rw).to.deep.equal({
      kind: "overlay",
      options: `lowerdir=${SNAPS}/1/fs,upperdir=/u,workdir=/w`,
      cwd: undefined,
    });
    const ro = planOverlayMount({ lowerDirs: lowers(2) });
    expect(ro).to.deep.equal({
      kind: "overlay",
      options: `lowerdir=${SNAPS}/2/fs:${SNAPS}/1/fs`,
      cwd: undefined,
    });
  });

  it("refuses bad inputs", function () {
    expect(() => planOverlayMount({ lowerDirs: [] })).to.throw(InvalidArgumentError);
    expect(() => planOverlayMount({ lowerDirs: lowers(2), upperDir: "/u" })).to.throw(
      InvalidArgumentError,
    );
    expect(() => planOverlayMount({ lowerDirs: ["rel/fs"] })).to.throw(InvalidArgumentError);
    expect(() => planOverlayMount({ lowerDirs: ["/a:b", "/c"] })).to.throw(InvalidArgumentError);
    expect(() =>
      planOverlayMount({ lowerDirs: ["/a", "/c"], upperDir: "/u,x", workDir: "/w" }),
    ).to.throw(InvalidArgumentError);
  });

  it("finds the common parent of directories", function () {
    expect(commonParent(["/a/b/1/fs", "/a/b/2/fs"])).to.equal("/a/b");
    expect(commonParent(["/a/b/1/fs"])).to.equal("/a/b/1/fs");
    expect(commonParent(["/x/1", "/y/2"])).to.equal("/");
  });
});
