import { expect } from "chai";
import { classifyWhiteout, entryComponents } from "../../../src/image/unpack/entry-path.js";
import { UnsafeLayerEntryError } from "../../../src/image/unpack/unsafe-entry-error.js";

describe("image unpack: entry names", function () {
  it("cleans names into components below the layer root", function () {
    expect(entryComponents("etc/passwd")).to.deep.equal(["etc", "passwd"]);
    expect(entryComponents("./etc//passwd")).to.deep.equal(["etc", "passwd"]);
    expect(entryComponents("usr/bin/")).to.deep.equal(["usr", "bin"]);
    expect(entryComponents("/etc/x")).to.deep.equal(["etc", "x"]);
    expect(entryComponents("a/b/../c")).to.deep.equal(["a", "c"]);
    expect(entryComponents("a/..")).to.deep.equal([]);
    expect(entryComponents("./")).to.deep.equal([]);
    expect(entryComponents("..foo/...")).to.deep.equal(["..foo", "..."]);
  });

  it("refuses names that climb above the root or carry NUL", function () {
    for (const name of [
      "..",
      "../x",
      "../../escape",
      "a/../../x",
      "/../etc/passwd",
      "./a/b/../../../x",
    ]) {
      expect(() => entryComponents(name), name).to.throw(UnsafeLayerEntryError, "climbs above");
    }
    expect(() => entryComponents("a\0b")).to.throw(UnsafeLayerEntryError, "NUL");
  });

  it("names the entry in the error", function () {
    try {
      entryComponents("../../escape");
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(UnsafeLayerEntryError);
      expect((err as UnsafeLayerEntryError).entry).to.equal("../../escape");
      expect((err as UnsafeLayerEntryError).kind).to.equal("FAILED_PRECONDITION");
      expect((err as Error).message).to.include('"../../escape"');
    }
  });

  it("recognises whiteouts, opaque markers and AUFS metadata", function () {
    const w = (name: string) => classifyWhiteout(entryComponents(name), name);
    expect(w("etc/passwd")).to.equal(undefined);
    expect(w("etc/.whiteout")).to.equal(undefined);
    expect(w("etc/.wh.passwd")).to.deep.equal({ kind: "whiteout", dir: ["etc"], name: "passwd" });
    expect(w(".wh.old")).to.deep.equal({ kind: "whiteout", dir: [], name: "old" });
    expect(w("var/cache/.wh..wh..opq")).to.deep.equal({ kind: "opaque", dir: ["var", "cache"] });
    expect(w(".wh..wh..opq")).to.deep.equal({ kind: "opaque", dir: [] });
    expect(w(".wh..wh.plnk/123")).to.equal(undefined);
    expect(w(".wh..wh..plnk")).to.deep.equal({ kind: "aufs-meta" });
    expect(w(".wh..wh.aufs")).to.deep.equal({ kind: "aufs-meta" });
  });

  it("refuses whiteouts that name nothing or a parent", function () {
    for (const name of ["etc/.wh.", "etc/.wh..", "etc/.wh..."]) {
      expect(() => classifyWhiteout(entryComponents(name), name), name).to.throw(
        UnsafeLayerEntryError,
      );
    }
  });
});
