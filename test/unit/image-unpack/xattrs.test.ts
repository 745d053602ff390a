import { expect } from "chai";
import { selectXattrs, setfattrArgs } from "../../../src/image/unpack/xattrs.js";

describe("image unpack: xattrs from PAX headers", function () {
  it("takes SCHILY.xattr records and nothing else", function () {
    const sel = selectXattrs({
      "SCHILY.xattr.user.mime": "text/plain",
      "SCHILY.xattr.security.capability": "\u0001\u0000\u0000\u0002\u0000\u0020\u0000\u0000",
      path: "x",
      mtime: "1.5",
    });
    expect(sel.apply.map((a) => a.name)).to.deep.equal(["user.mime", "security.capability"]);
    expect(sel.apply[1]!.value).to.deep.equal(Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0]));
    expect(sel.skipped).to.deep.equal([]);
    expect(selectXattrs(undefined)).to.deep.equal({ apply: [], skipped: [] });
  });

  it("never takes overlayfs attributes, malformed names or mangled binary values", function () {
    const sel = selectXattrs({
      "SCHILY.xattr.trusted.overlay.redirect": "/etc",
      "SCHILY.xattr.user.overlay.opaque": "y",
      "SCHILY.xattr.": "x",
      "SCHILY.xattr.noprefix": "x",
      "SCHILY.xattr.security.capability": "\uFFFD\u0000",
    });
    expect(sel.apply).to.deep.equal([]);
    expect(sel.skipped.map((s) => s.name)).to.deep.equal([
      "trusted.overlay.redirect",
      "user.overlay.opaque",
      "",
      "noprefix",
      "security.capability",
    ]);
  });

  it("builds a setfattr call that never follows symlinks and carries any bytes", function () {
    expect(setfattrArgs("/s/fs/a", { name: "user.x", value: Buffer.from([0, 255]) })).to.deep.equal(
      ["-h", "-n", "user.x", "-v", "0x00ff", "--", "/s/fs/a"],
    );
    expect(setfattrArgs("/s/fs/a", { name: "user.e", value: Buffer.alloc(0) })).to.deep.equal([
      "-h",
      "-n",
      "user.e",
      "-v",
      "",
      "--",
      "/s/fs/a",
    ]);
  });
});
