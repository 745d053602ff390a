// berth's own version, read once from package.json.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./repo-root.js";

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot(), "package.json"), "utf8")) as {
    version?: unknown;
  };
  return typeof pkg.version === "string" ? pkg.version : "0.0.0";
}

export const BERTH_VERSION = readVersion();
export const RUNTIME_NAME = "berth";
/** The CRI API version berth serves. */
export const CRI_API_VERSION = "v1";
