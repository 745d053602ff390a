// The shapes of CNI network configuration (spec 0.3.x – 1.0.0) and pure validation of them.
// Plugin configs are kept as open JSON objects: every key a plugin understands must reach it
// unchanged, berth only reads the few keys the runtime is responsible for.

export type JsonObject = { [key: string]: unknown };

/** One plugin entry of a network configuration list, as written in the file. */
export interface PluginConfig extends JsonObject {
  type: string;
  capabilities?: { [capability: string]: boolean };
}

/** A network configuration list (`.conflist`, or a `.conf` wrapped into one). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  disableCheck: boolean;
  plugins: PluginConfig[];
}

/** CNI versions berth speaks; results of 0.3.0 and later share one shape. */
export const SUPPORTED_CNI_VERSIONS: readonly string[] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

// The spec's network name rule: alphanumerics first, then alphanumerics, `_`, `.` and `-`.
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// A plugin type names a binary in a plugin dir: a bare file name.
const PLUGIN_TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

function fail<T>(reason: string): Validated<T> {
  return { ok: false, reason };
}

/** True for 0.4.0 and later (CHECK exists, DEL gets prevResult). */
export function supportsCheck(cniVersion: string): boolean {
  return cniVersion === "0.4.0" || cniVersion.startsWith("1.");
}

function validatePlugin(raw: unknown, where: string): Validated<PluginConfig> {
  if (!isJsonObject(raw)) return fail(`${where} is not an object`);
  const type = raw["type"];
  if (typeof type !== "string" || type === "") return fail(`${where} has no "type"`);
  if (!PLUGIN_TYPE.test(type)) return fail(`${where} has an invalid type ${JSON.stringify(type)}`);
  const caps = raw["capabilities"];
  if (caps !== undefined) {
    if (!isJsonObject(caps)) return fail(`${where} "capabilities" is not an object`);
    for (const [k, v] of Object.entries(caps)) {
      if (typeof v !== "boolean")
        return fail(`${where} capability ${JSON.stringify(k)} is not a boolean`);
    }
  }
  return { ok: true, value: raw as PluginConfig };
}

function validateHeader(raw: JsonObject): Validated<{ cniVersion: string; name: string }> {
  const cniVersion = raw["cniVersion"];
  if (typeof cniVersion !== "string" || cniVersion === "") return fail(`no "cniVersion"`);
  if (!SUPPORTED_CNI_VERSIONS.includes(cniVersion)) {
    return fail(
      `cniVersion ${JSON.stringify(cniVersion)} is not supported (berth speaks ${SUPPORTED_CNI_VERSIONS.join(", ")})`,
    );
  }
  const name = raw["name"];
  if (typeof name !== "string" || name === "") return fail(`no "name"`);
  if (!NETWORK_NAME.test(name)) return fail(`invalid network name ${JSON.stringify(name)}`);
  return { ok: true, value: { cniVersion, name } };
}

/** Validates a parsed `.conflist`. */
export function validateConfigList(raw: unknown): Validated<NetworkConfigList> {
  if (!isJsonObject(raw)) return fail("not a JSON object");
  const header = validateHeader(raw);
  if (!header.ok) return header;
  const plugins = raw["plugins"];
  if (!Array.isArray(plugins)) return fail(`no "plugins" list`);
  if (plugins.length === 0) return fail(`"plugins" is empty`);
  const checked: PluginConfig[] = [];
  for (const [i, p] of plugins.entries()) {
    const v = validatePlugin(p, `plugins[${i}]`);
    if (!v.ok) return v;
    checked.push(v.value);
  }
  const disableCheck = raw["disableCheck"];
  if (disableCheck !== undefined && typeof disableCheck !== "boolean") {
    return fail(`"disableCheck" is not a boolean`);
  }
  return {
    ok: true,
    value: { ...header.value, disableCheck: disableCheck === true, plugins: checked },
  };
}

/** Validates a parsed single-plugin `.conf` and wraps it as a one-plugin list, as libcni does. */
export function validateSingleConfig(raw: unknown): Validated<NetworkConfigList> {
  if (!isJsonObject(raw)) return fail("not a JSON object");
  const header = validateHeader(raw);
  if (!header.ok) return header;
  const plugin = validatePlugin(raw, "the plugin config");
  if (!plugin.ok) {
    const hint = Array.isArray(raw["plugins"]) ? " (it has a plugins list: name it .conflist)" : "";
    return fail(plugin.reason + hint);
  }
  return { ok: true, value: { ...header.value, disableCheck: false, plugins: [plugin.value] } };
}
