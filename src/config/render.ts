// Writes a BerthConfig as TOML. With comments, the defaults rendered this way are
// `berthd config default` and deploy/berth.toml (a unit test keeps the file equal to it);
// without, it is what `berthd config check` says berthd would use.
import { type BerthConfig, defaultConfig } from "./config.js";
import {
  CNI_DOCS,
  FILE_HEADER,
  type KeyDoc,
  REGISTRIES_DOC,
  REGISTRIES_EXAMPLE,
  RUNTIMES_DOC,
  STREAMING_DOCS,
  TOP_LEVEL_DOCS,
} from "./key-docs.js";

export interface RenderOptions {
  /** Explanations above keys and tables (default true). */
  comments?: boolean;
}

type Scalar = string | number | boolean | readonly string[];

/** A TOML value: JSON's string escapes are a subset of TOML basic strings'. */
export function tomlValue(v: Scalar): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return `[${v.map((s) => JSON.stringify(s)).join(", ")}]`;
}

/** A bare key when TOML allows one, else a quoted key. */
export function tomlKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

function comment(lines: readonly string[], on: boolean): string[] {
  return on ? lines.map((l) => (l === "" ? "#" : `# ${l}`)) : [];
}

function keys<T extends object>(table: T, docs: KeyDoc<Extract<keyof T, string>>[], on: boolean) {
  const out: string[] = [];
  for (const { key, doc } of docs) {
    out.push(...comment(doc, on), `${key} = ${tomlValue(table[key] as Scalar)}`);
  }
  return out;
}

export function renderConfig(config: BerthConfig, opts: RenderOptions = {}): string {
  const on = opts.comments !== false;
  const out: string[] = [...comment(FILE_HEADER, on)];
  if (on) out.push("");
  out.push(...keys(config, TOP_LEVEL_DOCS, on), "");

  out.push(...comment(RUNTIMES_DOC, on));
  for (const [name, h] of Object.entries(config.runtimes)) {
    out.push(
      `[runtimes.${tomlKey(name)}]`,
      `path = ${tomlValue(h.path)}`,
      `root = ${tomlValue(h.root)}`,
      "",
    );
  }

  out.push(...comment(REGISTRIES_DOC, on));
  const registries = Object.entries(config.registries);
  if (registries.length === 0) out.push(...comment(REGISTRIES_EXAMPLE, on));
  for (const [host, r] of registries) {
    out.push(
      `[registries.${JSON.stringify(host)}]`,
      `mirrors = ${tomlValue(r.mirrors)}`,
      `insecure = ${tomlValue(r.insecure)}`,
    );
  }
  out.push("", "[cni]", ...keys(config.cni, CNI_DOCS, on), "");
  out.push("[streaming]", ...keys(config.streaming, STREAMING_DOCS, on));
  return out.join("\n") + "\n";
}

/** `berthd config default`: every key with its default and what it does. */
export function renderDefaultConfig(): string {
  return renderConfig(defaultConfig());
}
