// Builds the effective configuration: defaults, then the TOML file, then command-line flags.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type * as SmolToml from "smol-toml" with { "resolution-mode": "import" };
import { errorMessage, isErrno } from "../errors.js";
import { LOG_LEVELS } from "../log.js";
import { type BerthConfig, DEFAULT_CONFIG_PATH, defaultConfig } from "./config.js";
import { ConfigError, mergeConfig } from "./validate.js";

// smol-toml ships a CommonJS build beside its ESM one; its types are declared as ESM only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse: parseToml } = require("smol-toml") as typeof SmolToml;

export const USAGE = `usage: berthd [flags]
  --config FILE               configuration file (default ${DEFAULT_CONFIG_PATH}; absent = defaults)
  --listen SOCKET_PATH        CRI gRPC unix socket
  --root DIR                  persistent state (images, snapshots, container metadata)
  --state DIR                 runtime state (bundles, exit files, netns)
  --metrics-address HOST:PORT Prometheus endpoint; empty disables it
  --log-level LEVEL           ${LOG_LEVELS.join("|")}
  --help                      this text`;

export interface LoadedConfig {
  config: BerthConfig;
  /** The file that was read, or undefined when none existed at the default path. */
  file: string | undefined;
}

/** Parses argv (without node and script) into the effective config. Throws ConfigError. */
export function loadConfig(argv: readonly string[]): LoadedConfig & { help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: "string" },
      listen: { type: "string" },
      root: { type: "string" },
      state: { type: "string" },
      "metrics-address": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  const explicit = values.config;
  const file = explicit ?? DEFAULT_CONFIG_PATH;
  let config = defaultConfig();
  let used: string | undefined;
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (explicit !== undefined || !isErrno(err, "ENOENT")) {
      throw new ConfigError("--config", `cannot read ${file}: ${errorMessage(err)}`);
    }
  }
  if (text !== undefined) {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(text);
    } catch (err) {
      throw new ConfigError(file, `invalid TOML: ${errorMessage(err)}`);
    }
    config = mergeConfig(config, doc);
    used = file;
  }
  if (values.listen !== undefined) config.listen = values.listen;
  if (values.root !== undefined) config.root = values.root;
  if (values.state !== undefined) config.state = values.state;
  if (values["metrics-address"] !== undefined) config.metrics_address = values["metrics-address"];
  if (values["log-level"] !== undefined) config.log_level = values["log-level"];
  return { config: finish(config), file: used, help: values.help === true };
}

/** Fills derived defaults and checks cross-field rules. */
export function finish(config: BerthConfig): BerthConfig {
  const out = structuredClone(config);
  if (!(LOG_LEVELS as readonly string[]).includes(out.log_level)) {
    throw new ConfigError("log_level", `expected one of ${LOG_LEVELS.join(", ")}`);
  }
  if (out.metrics_address !== "" && parseHostPort(out.metrics_address) === undefined) {
    throw new ConfigError("metrics_address", `expected HOST:PORT, got "${out.metrics_address}"`);
  }
  if (parseHostPort(out.streaming_address) === undefined) {
    throw new ConfigError(
      "streaming_address",
      `expected HOST:PORT, got "${out.streaming_address}"`,
    );
  }
  for (const key of ["listen", "root", "state"] as const) {
    out[key] = path.resolve(out[key]);
  }
  if (out.cni.default_conf_dir === "")
    out.cni.default_conf_dir = path.join(out.root, "cni", "net.d");
  if (out.default_runtime !== "" && !(out.default_runtime in out.runtimes)) {
    throw new ConfigError("default_runtime", `no runtime handler named "${out.default_runtime}"`);
  }
  return out;
}

export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: (m[1] as string).replace(/^\[|\]$/g, ""), port };
}
