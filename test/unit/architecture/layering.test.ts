// The module floors the README's architecture section promises, checked from the sources'
// import statements: a lower floor never reaches up into a higher one.
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../../../src/repo-root.js";

const SRC = path.join(repoRoot(), "src");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sources(full));
    else if (name.endsWith(".ts")) out.push(full);
  }
  return out;
}

/**
 * Every relative module a file imports (static or dynamic), as a path relative to src/. With
 * `valuesOnly`, `import type` lines are left out: they vanish from the compiled code, and a
 * lower module may implement an interface its consumer defines (the image service implements
 * the runtime's ImageLookup).
 */
function importsOf(file: string, valuesOnly = false): string[] {
  let text = readFileSync(file, "utf8");
  if (valuesOnly) text = text.replace(/^import type [^;]*;/gms, "");
  const specs = [...text.matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]!);
  return specs.map((s) => path.relative(SRC, path.resolve(path.dirname(file), s)));
}

function violations(fromPrefix: string, forbidden: string[], valuesOnly = false): string[] {
  const found: string[] = [];
  for (const file of sources(path.join(SRC, fromPrefix))) {
    for (const target of importsOf(file, valuesOnly)) {
      if (forbidden.some((f) => target === f || target.startsWith(`${f}/`))) {
        found.push(`${path.relative(SRC, file)} -> ${target}`);
      }
    }
  }
  return found;
}

describe("module layering", () => {
  it("src/store imports nothing of runtime, image, network, metrics or cri", () => {
    assert.deepEqual(
      violations("store", ["runtime", "image", "network", "metrics", "cri", "streaming"]),
      [],
    );
  });

  it("src/image loads no runtime code (types of the runtime's ImageLookup port aside)", () => {
    assert.deepEqual(violations("image", ["runtime"], true), []);
  });

  it("without the filter, the image's type import of the runtime is seen", () => {
    assert.ok(violations("image", ["runtime"]).length > 0, "image implements ImageLookup");
  });

  it("src/network does not import the runtime, metrics or cri", () => {
    assert.deepEqual(violations("network", ["runtime", "metrics", "cri"]), []);
  });

  it("src/cgroup imports nothing of runtime, metrics, network, cri, image or streaming", () => {
    assert.deepEqual(
      violations("cgroup", ["runtime", "metrics", "network", "cri", "image", "streaming"]),
      [],
    );
  });

  it("no source, test or bench imports src/metrics/cgroup (the cgroup code is src/cgroup)", () => {
    for (const tree of ["", "../test", "../bench"]) {
      assert.deepEqual(violations(tree, ["metrics/cgroup"]), [], tree);
    }
  });

  it("src/network imports nothing of src/metrics, not even a type", () => {
    assert.deepEqual(violations("network", ["metrics"]), []);
  });

  it("src/runtime loads no metrics code (the BerthMetrics type of its context aside)", () => {
    assert.deepEqual(violations("runtime", ["metrics"], true), []);
    const typeOnly = violations("runtime", ["metrics"]);
    assert.deepEqual(
      typeOnly.filter((v) => !v.endsWith(" -> metrics/berth-metrics.js")),
      [],
      "the runtime's one metrics type is BerthMetrics",
    );
  });

  it("version.ts does not load the CRI layer", () => {
    const targets = importsOf(path.join(SRC, "version.ts"));
    assert.deepEqual(
      targets.filter((t) => t.startsWith("cri/") || t.startsWith("gen/")),
      [],
    );
  });

  it("the importer finds imports (a file known to import the store does)", () => {
    const targets = importsOf(path.join(SRC, "image", "image-store.ts"));
    assert.ok(targets.includes("store/record-store.js"), targets.join(", "));
  });
});
