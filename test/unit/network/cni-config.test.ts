import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  findPlugin,
  listConfigFiles,
  loadCniConfig,
  loadCniConfigFromDirs,
  parseConfigFile,
} from "../../../src/network/cni-config.js";

const list = (name: string, types: string[], version = "1.0.0"): string =>
  JSON.stringify({ cniVersion: version, name, plugins: types.map((type) => ({ type })) });

describe("network/cni-config", () => {
  let root: string;
  let confDir: string;
  let binDir: string;

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cniconf-"));
    confDir = path.join(root, "net.d");
    binDir = path.join(root, "bin");
    await fs.mkdir(confDir);
    await fs.mkdir(binDir);
    for (const p of ["bridge", "portmap", "loopback"]) {
      await fs.writeFile(path.join(binDir, p), "#!/bin/sh\n", { mode: 0o755 });
    }
  });

  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it("finds a valid conflist and records nothing skipped", async () => {
    await fs.writeFile(path.join(confDir, "10-a.conflist"), list("net-a", ["bridge", "portmap"]));
    const found = await loadCniConfig(confDir, [binDir]);
    expect(found.ok).to.equal(true);
    if (!found.ok) return;
    expect(found.file).to.equal(path.join(confDir, "10-a.conflist"));
    expect(found.config.name).to.equal("net-a");
    expect(found.config.cniVersion).to.equal("1.0.0");
    expect(found.config.plugins.map((p) => p.type)).to.deep.equal(["bridge", "portmap"]);
    expect(found.skipped).to.deep.equal([]);
  });

  it("takes files in lexical order, whatever their extension", async () => {
    await fs.writeFile(path.join(confDir, "20-b.conflist"), list("net-b", ["bridge"]));
    await fs.writeFile(
      path.join(confDir, "05-c.json"),
      JSON.stringify({ cniVersion: "0.4.0", name: "net-c", type: "bridge" }),
    );
    await fs.writeFile(path.join(confDir, "99-z.conf"), list("net-z", ["bridge"]));
    await fs.writeFile(path.join(confDir, "00-ignored.txt"), "not a config");
    expect((await listConfigFiles(confDir)).map((f) => path.basename(f))).to.deep.equal([
      "05-c.json",
      "20-b.conflist",
      "99-z.conf",
    ]);
    const found = await loadCniConfig(confDir, [binDir]);
    expect(found.ok && found.config.name).to.equal("net-c");
  });

  it("wraps a .conf as a one-plugin list, keeping its plugin keys", async () => {
    await fs.writeFile(
      path.join(confDir, "10-single.conf"),
      JSON.stringify({
        cniVersion: "0.3.1",
        name: "single",
        type: "bridge",
        bridge: "br9",
        ipam: { type: "host-local" },
      }),
    );
    const found = await loadCniConfig(confDir, [binDir]);
    if (!found.ok) throw new Error(found.reason);
    expect(found.config.name).to.equal("single");
    expect(found.config.cniVersion).to.equal("0.3.1");
    expect(found.config.plugins).to.have.length(1);
    expect(found.config.plugins[0]).to.include({ type: "bridge", bridge: "br9" });
  });

  it("skips invalid JSON, a missing type and a missing plugin binary with reasons, then uses the next", async () => {
    await fs.writeFile(path.join(confDir, "01-broken.conflist"), "{ not json");
    await fs.writeFile(
      path.join(confDir, "02-notype.conflist"),
      JSON.stringify({ cniVersion: "1.0.0", name: "n", plugins: [{ bridge: "x" }] }),
    );
    await fs.writeFile(
      path.join(confDir, "03-nobin.conflist"),
      list("nobin", ["bridge", "macvlan-missing"]),
    );
    await fs.writeFile(path.join(confDir, "04-good.conflist"), list("good", ["bridge"]));
    const found = await loadCniConfig(confDir, [binDir]);
    if (!found.ok) throw new Error(found.reason);
    expect(found.config.name).to.equal("good");
    const reasons = Object.fromEntries(found.skipped.map((s) => [path.basename(s.file), s.reason]));
    expect(reasons["01-broken.conflist"]).to.match(/^invalid JSON/);
    expect(reasons["02-notype.conflist"]).to.equal('plugins[0] has no "type"');
    expect(reasons["03-nobin.conflist"]).to.include(
      'plugin "macvlan-missing" not found in ' + binDir,
    );
  });

  it("reports why no config is usable", async () => {
    await fs.writeFile(path.join(confDir, "10-nobin.conflist"), list("x", ["nothere"]));
    const found = await loadCniConfig(confDir, [binDir]);
    expect(found.ok).to.equal(false);
    if (found.ok) return;
    expect(found.reason).to.include("no usable network config in " + confDir);
    expect(found.reason).to.include('10-nobin.conflist: plugin "nothere" not found');
  });

  it("reports an empty or missing conf dir", async () => {
    const empty = await loadCniConfig(confDir, [binDir]);
    expect(empty).to.deep.equal({
      ok: false,
      reason: `no network config found in ${confDir}`,
      skipped: [],
    });
    const missing = await loadCniConfig(path.join(root, "nope"), [binDir]);
    expect(missing.ok).to.equal(false);
  });

  it("tries conf dirs in order", async () => {
    const second = path.join(root, "second");
    await fs.mkdir(second);
    await fs.writeFile(path.join(second, "10-berth.conflist"), list("berth", ["bridge"]));
    const found = await loadCniConfigFromDirs([confDir, second], [binDir]);
    expect(found.ok && found.file).to.equal(path.join(second, "10-berth.conflist"));
    await fs.writeFile(path.join(confDir, "50-node.conflist"), list("node", ["bridge"]));
    const again = await loadCniConfigFromDirs([confDir, second], [binDir]);
    expect(again.ok && again.config.name).to.equal("node");
  });

  it("finds plugins in the first dir that has them, executable only", async () => {
    const other = path.join(root, "other");
    await fs.mkdir(other);
    await fs.writeFile(path.join(other, "bridge"), "#!/bin/sh\n", { mode: 0o755 });
    await fs.writeFile(path.join(other, "noexec"), "#!/bin/sh\n", { mode: 0o644 });
    expect(await findPlugin("bridge", ["", path.join(root, "none"), other, binDir])).to.equal(
      path.join(other, "bridge"),
    );
    expect(await findPlugin("noexec", [other])).to.equal(undefined);
  });

  describe("parseConfigFile", () => {
    it("validates versions, names and plugin lists", () => {
      const bad = (file: string, value: unknown): string => {
        const r = parseConfigFile(file, JSON.stringify(value));
        if (r.ok) throw new Error("expected invalid");
        return r.reason;
      };
      expect(bad("a.conflist", { name: "n", plugins: [{ type: "x" }] })).to.equal(
        'no "cniVersion"',
      );
      expect(
        bad("a.conflist", { cniVersion: "9.9.9", name: "n", plugins: [{ type: "x" }] }),
      ).to.match(/not supported/);
      expect(bad("a.conflist", { cniVersion: "1.0.0", plugins: [{ type: "x" }] })).to.equal(
        'no "name"',
      );
      expect(
        bad("a.conflist", { cniVersion: "1.0.0", name: "bad name", plugins: [{ type: "x" }] }),
      ).to.match(/invalid network name/);
      expect(bad("a.conflist", { cniVersion: "1.0.0", name: "n", plugins: [] })).to.equal(
        '"plugins" is empty',
      );
      expect(bad("a.conflist", { cniVersion: "1.0.0", name: "n" })).to.equal('no "plugins" list');
      expect(
        bad("a.conflist", { cniVersion: "1.0.0", name: "n", plugins: [{ type: "../sh" }] }),
      ).to.match(/invalid type/);
      expect(bad("a.conflist", [1])).to.equal("not a JSON object");
      expect(bad("a.conf", { cniVersion: "1.0.0", name: "n", plugins: [{ type: "x" }] })).to.match(
        /no "type".*name it \.conflist/,
      );
    });

    it("reads disableCheck", () => {
      const r = parseConfigFile(
        "a.conflist",
        JSON.stringify({
          cniVersion: "1.0.0",
          name: "n",
          disableCheck: true,
          plugins: [{ type: "x" }],
        }),
      );
      expect(r.ok && r.value.disableCheck).to.equal(true);
    });
  });
});
