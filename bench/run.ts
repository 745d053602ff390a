// `make bench`: runs every dist/bench/*.bench.js one after another, each a standalone script
// that prints its own report. Pass names to run only some: `node dist/bench/run.js image`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import * as path from "node:path";

const only = process.argv.slice(2);
const benches = readdirSync(__dirname)
  .filter((f) => f.endsWith(".bench.js"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const file of benches) {
  console.log(`\n=== ${file.replace(/\.bench\.js$/, "")} ===`);
  const res = spawnSync(process.execPath, [path.join(__dirname, file)], { stdio: "inherit" });
  if (res.status !== 0) {
    failed++;
    console.log(`${file} failed (exit ${String(res.status)})`);
  }
}
process.exit(failed === 0 ? 0 : 1);
