// Running the packaging scripts and the installed berthd from tests.
import { execFile, spawnSync } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "../../../src/repo-root.js";

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Ran {
  const res = spawnSync(file, args, {
    cwd: repoRoot(),
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.error) throw res.error;
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** run without blocking the event loop. */
export function runAsync(file: string, args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: repoRoot(), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout, stderr: err !== null && code === null ? err.message : stderr });
      },
    );
  });
}

/** Like run, but throws with the output when the exit status is not 0. */
export function runOk(file: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = run(file, args, env);
  if (r.code !== 0) {
    throw new Error(`${file} ${args.join(" ")}: exit ${String(r.code)}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

export const BERTHD = path.join(repoRoot(), "bin", "berthd");

/** `dpkg-deb -I` control fields (continuation lines joined). */
export function controlFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last = "";
  for (const line of text.split("\n")) {
    const m = /^ ([A-Za-z-]+): (.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      last = m[1];
      fields[last] = m[2];
    } else if (/^ {2}/.test(line) && last !== "") {
      fields[last] += `\n${line.trim()}`;
    }
  }
  return fields;
}

/** Whether dpkg knows package `name` as installed (any state but not-installed). */
export function dpkgInstalled(name: string): boolean {
  const r = run("dpkg-query", ["-W", "-f=${Status}", name]);
  return r.code === 0 && /install ok installed|half|unpacked/.test(r.stdout);
}
