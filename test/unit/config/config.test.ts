import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { defaultConfig } from "../../../src/config/config.js";
import { finish, loadConfig, parseHostPort } from "../../../src/config/load.js";
import { mergeConfig } from "../../../src/config/validate.js";
import { repoRoot } from "../../../src/repo-root.js";

describe("config", () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-unit-"));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function withFile(text: string, args: string[] = []) {
    const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
    await fs.writeFile(file, text);
    return loadConfig(["--config", file, ...args]);
  }

  it("the example deploy/berth.toml sets every key to its default", async () => {
    const loaded = loadConfig(["--config", path.join(repoRoot(), "deploy", "berth.toml")]);
    expect(loaded.config).to.deep.equal(finish(defaultConfig()));
  });

  it("flags override the file", async () => {
    const { config } = await withFile('listen = "/a.sock"\nroot = "/r"\n', [
      "--listen",
      "/b.sock",
      "--metrics-address",
      "",
      "--log-level",
      "debug",
      "--state",
      "/s",
    ]);
    expect(config.listen).to.equal("/b.sock");
    expect(config.root).to.equal("/r");
    expect(config.state).to.equal("/s");
    expect(config.metrics_address).to.equal("");
    expect(config.log_level).to.equal("debug");
    expect(config.cni.default_conf_dir).to.equal("/r/cni/net.d");
  });

  it("merges registries and runtime handlers", async () => {
    const { config } = await withFile(
      [
        '[registries."registry.k8s.io"]',
        'mirrors = ["http://127.0.0.1:5000"]',
        '[registries."127.0.0.1:5000"]',
        "insecure = true",
        "[runtimes.runc]",
        'path = "/opt/runc"',
        "[runtimes.kata]",
        'path = "/opt/kata"',
      ].join("\n"),
    );
    expect(config.registries["registry.k8s.io"]).to.deep.equal({
      mirrors: ["http://127.0.0.1:5000"],
      insecure: false,
    });
    expect(config.registries["127.0.0.1:5000"]?.insecure).to.equal(true);
    expect(config.runtimes.runc?.path).to.equal("/opt/runc");
    expect(config.runtimes.crun?.path).to.equal("/usr/bin/crun");
    expect(config.runtimes.kata?.path).to.equal("/opt/kata");
  });

  const bad: [string, string][] = [
    ['listn = "/x"', "listn"],
    ["listen = 3", "listen"],
    ['[cni]\nconf_dri = "/x"', "cni.conf_dri"],
    ['[cni]\nsubnet = "banana"', "cni.subnet"],
    ['[cni]\nsubnet = "10.0.0.300/16"', "cni.subnet"],
    ['[cni]\nsubnet = "10.0.0.0/33"', "cni.subnet"],
    ['[cni]\nbridge = "a-name-longer-than-15"', "cni.bridge"],
    ['[registries."r.io"]\nmirror = []', 'registries."r.io".mirror'],
    ['[registries."r.io"]\nmirrors = ["ftp://x"]', 'registries."r.io".mirrors[0]'],
    ['[runtimes.kata]\nroot = "/x"', "runtimes.kata.path"],
    ['cgroup_driver = "systemdd"', "cgroup_driver"],
    ["max_concurrent_downloads = 0", "max_concurrent_downloads"],
    ['log_level = "loud"', "log_level"],
    ['metrics_address = "9127"', "metrics_address"],
    ['default_runtime = "kata"', "default_runtime"],
    ["pull_progress_timeout_seconds = 1.5", "pull_progress_timeout_seconds"],
  ];
  for (const [text, key] of bad) {
    it(`rejects ${text.replace(/\n/g, " ")} naming ${key}`, async () => {
      try {
        await withFile(text);
        expect.fail("accepted");
      } catch (err) {
        expect((err as Error).message).to.include(key);
      }
    });
  }

  it("a missing explicit config file is an error; a missing default one is not", () => {
    expect(() => loadConfig(["--config", path.join(dir, "nope.toml")])).to.throw(/cannot read/);
  });

  it("parses host:port forms", () => {
    expect(parseHostPort("127.0.0.1:9127")).to.deep.equal({ host: "127.0.0.1", port: 9127 });
    expect(parseHostPort("[::1]:80")).to.deep.equal({ host: "::1", port: 80 });
    expect(parseHostPort("host:99999")).to.equal(undefined);
    expect(parseHostPort("nohost")).to.equal(undefined);
  });

  it("mergeConfig never mutates its base", () => {
    const base = defaultConfig();
    const copy = structuredClone(base);
    mergeConfig(base, { runtimes: { runc: { path: "/x" } }, cni: { bridge: "b1" } });
    expect(base).to.deep.equal(copy);
  });
});
