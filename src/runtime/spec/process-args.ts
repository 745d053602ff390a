// The container's command line, environment and working directory, combining the image config
// and the CRI request with Docker's rules.
import * as path from "node:path";
import { InvalidArgumentError } from "../../errors.js";
import type { ContainerConfig__Output } from "../../gen/runtime/v1/ContainerConfig.js";
import type { ImageConfig } from "./image-config.js";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * config.command replaces the image's Entrypoint, and then the image's Cmd is dropped too;
 * config.args replaces the image's Cmd. The result is entrypoint ++ cmd.
 */
export function processArgs(config: ContainerConfig__Output, image: ImageConfig): string[] {
  let args: string[];
  if (config.command.length > 0) {
    args = [...config.command, ...config.args];
  } else {
    const cmd = config.args.length > 0 ? config.args : (image.Cmd ?? []);
    args = [...(image.Entrypoint ?? []), ...cmd];
  }
  if (args.length === 0) {
    throw new InvalidArgumentError(
      "config.command",
      "no command given and the image has no Entrypoint or Cmd",
    );
  }
  return args;
}

function envKey(entry: string): string {
  const eq = entry.indexOf("=");
  return eq < 0 ? entry : entry.slice(0, eq);
}

/** Merges KEY=VALUE lists: a later key replaces an earlier one in place. */
export function mergeEnv(...lists: readonly (readonly string[])[]): string[] {
  const byKey = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list) {
      const key = envKey(entry);
      if (key === "") continue;
      byKey.set(key, entry);
    }
  }
  return [...byKey.values()];
}

/**
 * Base variables (a default PATH, HOSTNAME, TERM for ttys), then the image's Env, then the
 * request's envs; later wins by key.
 */
export function processEnv(
  config: ContainerConfig__Output,
  image: ImageConfig,
  hostname: string,
): string[] {
  const base = [`PATH=${DEFAULT_PATH}`];
  if (hostname !== "") base.push(`HOSTNAME=${hostname}`);
  if (config.tty) base.push("TERM=xterm");
  const requested = config.envs.map((kv, i) => {
    if (kv.key === "" || kv.key.includes("=")) {
      throw new InvalidArgumentError(`config.envs[${i}].key`, `invalid variable name "${kv.key}"`);
    }
    const value = typeof kv.value === "string" ? kv.value : Buffer.from(kv.value).toString("utf8");
    return `${kv.key}=${value}`;
  });
  return mergeEnv(base, image.Env ?? [], requested);
}

/** config.working_dir, else the image's WorkingDir, else "/". */
export function processCwd(config: ContainerConfig__Output, image: ImageConfig): string {
  if (config.working_dir !== "") {
    if (!config.working_dir.startsWith("/")) {
      throw new InvalidArgumentError("config.working_dir", "must be an absolute path");
    }
    return path.posix.normalize(config.working_dir);
  }
  const wd = image.WorkingDir ?? "";
  // Images built by old tools may carry a relative WorkingDir; Docker treats it as from "/".
  return wd === "" ? "/" : path.posix.normalize(path.posix.join("/", wd));
}
