// Where berth's files are (package.json, the CRI proto): two levels above a compiled module in
// dist/src, one above a source file in src. Kept apart so version.ts need not load the CRI layer.
import * as path from "node:path";

export function repoRoot(): string {
  const up = __dirname.includes(`${path.sep}dist${path.sep}`) ? ["..", ".."] : [".."];
  return path.resolve(__dirname, ...up);
}
