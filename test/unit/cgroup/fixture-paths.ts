// Locates the cgroup fixture trees from the compiled test (dist/test/unit/cgroup).
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { detectCgroupSetup, type CgroupSetup } from "../../../src/cgroup/index.js";

export const FIXTURES = path.resolve(__dirname, "../../../../test/fixtures/cgroup");

export type FixtureMode = "v1" | "v2" | "hybrid";

export function fixtureMountinfo(mode: FixtureMode): string {
  return readFileSync(path.join(FIXTURES, `mountinfo-${mode}.txt`), "utf8");
}

export function fixtureSetup(mode: FixtureMode, root = path.join(FIXTURES, mode)): CgroupSetup {
  return detectCgroupSetup({ mountinfo: fixtureMountinfo(mode), root });
}
