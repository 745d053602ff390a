import { readFileSync } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import type * as SmolToml from "smol-toml" with { "resolution-mode": "import" };
import { defaultConfig } from "../../../src/config/config.js";
import {
  renderConfig,
  renderDefaultConfig,
  tomlKey,
  tomlValue,
} from "../../../src/config/render.js";
import { mergeConfig } from "../../../src/config/validate.js";
import { repoRoot } from "../../../src/repo-root.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse: parseToml } = require("smol-toml") as typeof SmolToml;

describe("config rendering (berthd config default, deploy/berth.toml)", () => {
  it("deploy/berth.toml is exactly what `berthd config default` prints (make deploy/berth.toml)", () => {
    const file = readFileSync(path.join(repoRoot(), "deploy", "berth.toml"), "utf8");
    expect(file).to.equal(renderDefaultConfig());
  });

  it("the rendered defaults parse back to every key of defaultConfig(), no more, no less", () => {
    const doc = parseToml(renderDefaultConfig()) as Record<string, unknown>;
    // An empty table has nothing to write: registries is shown as a commented example.
    expect({ registries: {}, ...doc }).to.deep.equal(defaultConfig());
  });

  it("every key of the default file is explained: a comment heads each run of keys", () => {
    const lines = renderDefaultConfig().split("\n");
    const unexplained = lines.filter((l, i) => {
      if (!/^[a-z_]+ = /.test(l)) return false;
      let j = i - 1;
      while (/^[a-z_]+ = /.test(lines[j] ?? "")) j--;
      const head = lines[j] ?? "";
      // Handler tables share the comment above the first of them.
      return !head.startsWith("#") && !head.startsWith("[runtimes.");
    });
    expect(unexplained).to.deep.equal([]);
  });

  it("a configuration with registries and another handler round-trips through the validator", () => {
    const cfg = defaultConfig();
    cfg.registries["registry.k8s.io"] = { mirrors: ["http://127.0.0.1:5000"], insecure: false };
    cfg.registries["*"] = { mirrors: [], insecure: true };
    cfg.runtimes["my-runc"] = { path: "/opt/runc", root: "/run/x" };
    cfg.streaming.max_sessions = 7;
    const text = renderConfig(cfg, { comments: false });
    expect(text).not.to.match(/^#/m);
    expect(mergeConfig(defaultConfig(), parseToml(text))).to.deep.equal(cfg);
  });

  it("writes TOML values and keys safely", () => {
    expect(tomlValue('a "q" \\ b')).to.equal('"a \\"q\\" \\\\ b"');
    expect(tomlValue(["x", "y"])).to.equal('["x", "y"]');
    expect(tomlValue(0)).to.equal("0");
    expect(tomlValue(false)).to.equal("false");
    expect(tomlKey("crun")).to.equal("crun");
    expect(tomlKey("my.handler")).to.equal('"my.handler"');
  });
});
