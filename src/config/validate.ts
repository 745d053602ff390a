// Checks a parsed TOML document against the shape of BerthConfig: unknown keys and wrong types
// are rejected with a message naming the key, so a typo never silently falls back to a default.
import { InvalidArgumentError } from "../errors.js";
import type {
  BerthConfig,
  CniConfig,
  RegistryConfig,
  RuntimeHandlerConfig,
  StreamingConfig,
} from "./config.js";

type Doc = Record<string, unknown>;

class ConfigError extends InvalidArgumentError {}

function isTable(v: unknown): v is Doc {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function kind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "datetime";
  if (isTable(v)) return "table";
  return typeof v;
}

function expectTable(v: unknown, key: string): Doc {
  if (!isTable(v)) throw new ConfigError(key, `expected a table, got ${kind(v)}`);
  return v;
}

function str(v: unknown, key: string): string {
  if (typeof v !== "string") throw new ConfigError(key, `expected a string, got ${kind(v)}`);
  return v;
}

function bool(v: unknown, key: string): boolean {
  if (typeof v !== "boolean") throw new ConfigError(key, `expected a boolean, got ${kind(v)}`);
  return v;
}

function int(v: unknown, key: string, min: number): number {
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new ConfigError(key, `expected an integer, got ${kind(v)}`);
  }
  if (n < min) throw new ConfigError(key, `must be at least ${min}`);
  return n;
}

function strings(v: unknown, key: string): string[] {
  if (!Array.isArray(v)) throw new ConfigError(key, `expected an array of strings, got ${kind(v)}`);
  return v.map((x, i) => str(x, `${key}[${i}]`));
}

function unknownKeys(doc: Doc, known: readonly string[], prefix: string): void {
  for (const k of Object.keys(doc)) {
    if (!known.includes(k)) throw new ConfigError(prefix + k, "unknown configuration key");
  }
}

function mergeRuntime(base: RuntimeHandlerConfig | undefined, doc: Doc, key: string) {
  unknownKeys(doc, ["path", "root"], `${key}.`);
  const out: RuntimeHandlerConfig = { path: base?.path ?? "", root: base?.root ?? "" };
  if ("path" in doc) out.path = str(doc.path, `${key}.path`);
  if ("root" in doc) out.root = str(doc.root, `${key}.root`);
  if (out.path === "") throw new ConfigError(`${key}.path`, "a runtime handler needs a path");
  return out;
}

function mergeRegistry(doc: Doc, key: string): RegistryConfig {
  unknownKeys(doc, ["mirrors", "insecure"], `${key}.`);
  const out: RegistryConfig = { mirrors: [], insecure: false };
  if ("mirrors" in doc) out.mirrors = strings(doc.mirrors, `${key}.mirrors`);
  if ("insecure" in doc) out.insecure = bool(doc.insecure, `${key}.insecure`);
  for (const [i, m] of out.mirrors.entries()) {
    if (!/^https?:\/\/[^/]+/.test(m)) {
      throw new ConfigError(`${key}.mirrors[${i}]`, "expected an http:// or https:// URL");
    }
  }
  return out;
}

/** `a.b.c.d/n` with each octet 0-255 and n 0-32. */
export function isIPv4Cidr(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (!m) return false;
  const [, ...parts] = m;
  const octets = parts.slice(0, 4).map(Number);
  return octets.every((o) => o <= 255) && Number(parts[4]) <= 32;
}

function mergeCni(base: CniConfig, doc: Doc): CniConfig {
  const keys = Object.keys(base) as (keyof CniConfig)[];
  unknownKeys(doc, keys, "cni.");
  const out = { ...base, plugin_dirs: [...base.plugin_dirs] };
  if ("conf_dir" in doc) out.conf_dir = str(doc.conf_dir, "cni.conf_dir");
  if ("plugin_dirs" in doc) out.plugin_dirs = strings(doc.plugin_dirs, "cni.plugin_dirs");
  if ("default_network" in doc)
    out.default_network = bool(doc.default_network, "cni.default_network");
  if ("default_conf_dir" in doc)
    out.default_conf_dir = str(doc.default_conf_dir, "cni.default_conf_dir");
  if ("bridge" in doc) out.bridge = str(doc.bridge, "cni.bridge");
  if ("subnet" in doc) out.subnet = str(doc.subnet, "cni.subnet");
  if (!isIPv4Cidr(out.subnet)) {
    throw new ConfigError("cni.subnet", `expected an IPv4 CIDR, got "${out.subnet}"`);
  }
  // Linux interface names: 1-15 bytes, no '/', no whitespace, not "." or "..".
  if (!/^[^/\s:]{1,15}$/.test(out.bridge) || out.bridge === "." || out.bridge === "..") {
    throw new ConfigError("cni.bridge", `not a valid interface name: "${out.bridge}"`);
  }
  return out;
}

function mergeStreaming(base: StreamingConfig, doc: Doc): StreamingConfig {
  unknownKeys(doc, Object.keys(base), "streaming.");
  const out = { ...base };
  for (const key of ["tls_cert_file", "tls_key_file", "tls_ca_file"] as const) {
    if (key in doc) out[key] = str(doc[key], `streaming.${key}`);
  }
  if ("max_sessions" in doc) out.max_sessions = int(doc.max_sessions, "streaming.max_sessions", 1);
  if ("stream_creation_timeout_seconds" in doc) {
    const key = "streaming.stream_creation_timeout_seconds";
    out.stream_creation_timeout_seconds = int(doc.stream_creation_timeout_seconds, key, 1);
  }
  if ("stream_idle_timeout_seconds" in doc) {
    const key = "streaming.stream_idle_timeout_seconds";
    out.stream_idle_timeout_seconds = int(doc.stream_idle_timeout_seconds, key, 0);
  }
  if ((out.tls_cert_file === "") !== (out.tls_key_file === "")) {
    throw new ConfigError("streaming.tls_key_file", "tls_cert_file and tls_key_file go together");
  }
  if (out.tls_ca_file !== "" && out.tls_cert_file === "") {
    throw new ConfigError("streaming.tls_ca_file", "needs tls_cert_file and tls_key_file");
  }
  return out;
}

/** Returns `base` overridden by the keys of a parsed TOML document. */
export function mergeConfig(base: BerthConfig, doc: Doc): BerthConfig {
  const known = Object.keys(base);
  unknownKeys(doc, known, "");
  const out: BerthConfig = structuredClone(base);
  for (const key of [
    "listen",
    "root",
    "state",
    "log_level",
    "metrics_address",
    "default_runtime",
    "conmon_path",
    "infra_init_path",
    "streaming_address",
  ] as const) {
    if (key in doc) out[key] = str(doc[key], key);
  }
  if ("drop_infra_ctr" in doc) out.drop_infra_ctr = bool(doc.drop_infra_ctr, "drop_infra_ctr");
  if ("cgroup_driver" in doc) {
    const d = str(doc.cgroup_driver, "cgroup_driver");
    if (d !== "cgroupfs" && d !== "systemd") {
      throw new ConfigError("cgroup_driver", `expected "cgroupfs" or "systemd", got "${d}"`);
    }
    out.cgroup_driver = d;
  }
  if ("pull_progress_timeout_seconds" in doc) {
    out.pull_progress_timeout_seconds = int(
      doc.pull_progress_timeout_seconds,
      "pull_progress_timeout_seconds",
      1,
    );
  }
  if ("max_concurrent_downloads" in doc) {
    out.max_concurrent_downloads = int(doc.max_concurrent_downloads, "max_concurrent_downloads", 1);
  }
  if ("runtimes" in doc) {
    const table = expectTable(doc.runtimes, "runtimes");
    for (const [name, v] of Object.entries(table)) {
      const key = `runtimes.${name}`;
      out.runtimes[name] = mergeRuntime(base.runtimes[name], expectTable(v, key), key);
    }
  }
  if ("registries" in doc) {
    const table = expectTable(doc.registries, "registries");
    for (const [host, v] of Object.entries(table)) {
      const key = `registries."${host}"`;
      out.registries[host] = mergeRegistry(expectTable(v, key), key);
    }
  }
  if ("cni" in doc) out.cni = mergeCni(base.cni, expectTable(doc.cni, "cni"));
  if ("streaming" in doc) {
    out.streaming = mergeStreaming(base.streaming, expectTable(doc.streaming, "streaming"));
  }
  return out;
}

export { ConfigError };
