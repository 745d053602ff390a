// Finds the network berth uses: the first usable config file in the CNI conf dir, in lexical
// file-name order as libcni sorts them. Files that cannot be used are skipped, each with the
// reason, so Status can tell the node why NetworkReady is false.
import { promises as fs, constants as fsConstants } from "node:fs";
import * as path from "node:path";
import { errorMessage, isErrno } from "../errors.js";
import {
  type NetworkConfigList,
  type Validated,
  validateConfigList,
  validateSingleConfig,
} from "./cni-types.js";

export const CNI_CONFIG_EXTENSIONS: readonly string[] = [".conf", ".conflist", ".json"];

export interface SkippedConfig {
  file: string;
  reason: string;
}

export type CniConfigLookup =
  | { ok: true; config: NetworkConfigList; file: string; skipped: SkippedConfig[] }
  | { ok: false; reason: string; skipped: SkippedConfig[] };

/** The config files of `dir`, sorted by name, with full paths. A missing dir has none. */
export async function listConfigFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return [];
    throw err;
  }
  return entries
    .filter((f) => CNI_CONFIG_EXTENSIONS.includes(path.extname(f)) && !f.startsWith("."))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Parses and validates one file's text by its extension (pure). */
export function parseConfigFile(file: string, text: string): Validated<NetworkConfigList> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${errorMessage(err)}` };
  }
  return path.extname(file) === ".conflist" ? validateConfigList(raw) : validateSingleConfig(raw);
}

/** The path of plugin `type` in the first of `pluginDirs` that has it as an executable file. */
export async function findPlugin(
  type: string,
  pluginDirs: readonly string[],
): Promise<string | undefined> {
  for (const dir of pluginDirs) {
    if (dir === "") continue;
    const candidate = path.join(dir, type);
    try {
      const st = await fs.stat(candidate);
      if (!st.isFile()) continue;
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch (err) {
      if (isErrno(err, "ENOENT") || isErrno(err, "EACCES") || isErrno(err, "ENOTDIR")) continue;
      throw err;
    }
  }
  return undefined;
}

/** A reason the list cannot run here (a plugin binary is missing), or undefined when it can. */
export async function missingPlugins(
  config: NetworkConfigList,
  pluginDirs: readonly string[],
): Promise<string | undefined> {
  const missing: string[] = [];
  for (const p of config.plugins) {
    if ((await findPlugin(p.type, pluginDirs)) === undefined) missing.push(p.type);
  }
  if (missing.length === 0) return undefined;
  const list = [...new Set(missing)].map((m) => JSON.stringify(m)).join(", ");
  return `plugin ${list} not found in ${pluginDirs.join(":") || "(no plugin dirs)"}`;
}

/** The first usable network in `confDir`, or why there is none. */
export async function loadCniConfig(
  confDir: string,
  pluginDirs: readonly string[],
): Promise<CniConfigLookup> {
  const skipped: SkippedConfig[] = [];
  let files: string[];
  try {
    files = await listConfigFiles(confDir);
  } catch (err) {
    return {
      ok: false,
      reason: `cannot read CNI conf dir ${confDir}: ${errorMessage(err)}`,
      skipped,
    };
  }
  for (const file of files) {
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      skipped.push({ file, reason: `cannot read: ${errorMessage(err)}` });
      continue;
    }
    const parsed = parseConfigFile(file, text);
    if (!parsed.ok) {
      skipped.push({ file, reason: parsed.reason });
      continue;
    }
    const missing = await missingPlugins(parsed.value, pluginDirs);
    if (missing !== undefined) {
      skipped.push({ file, reason: missing });
      continue;
    }
    return { ok: true, config: parsed.value, file, skipped };
  }
  const why =
    skipped.length === 0
      ? `no network config found in ${confDir}`
      : `no usable network config in ${confDir}: ` +
        skipped.map((s) => `${path.basename(s.file)}: ${s.reason}`).join("; ");
  return { ok: false, reason: why, skipped };
}

/**
 * The first usable network across `confDirs`, tried in order (the node's conf dir, then berth's
 * own default dir); the reasons of every dir when none has one.
 */
export async function loadCniConfigFromDirs(
  confDirs: readonly string[],
  pluginDirs: readonly string[],
): Promise<CniConfigLookup> {
  const dirs = [...new Set(confDirs.filter((d) => d !== ""))];
  const skipped: SkippedConfig[] = [];
  const reasons: string[] = [];
  for (const dir of dirs) {
    const found = await loadCniConfig(dir, pluginDirs);
    if (found.ok) return { ...found, skipped: [...skipped, ...found.skipped] };
    skipped.push(...found.skipped);
    reasons.push(found.reason);
  }
  return { ok: false, reason: reasons.join("; ") || "no CNI conf dir configured", skipped };
}
