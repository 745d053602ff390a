// Reading what CNI plugins print: the result of ADD (interfaces, addresses, routes, DNS) and the
// error object every plugin prints on failure. Results of 0.3.0 – 1.0.0 share this shape (0.3.x
// and 0.4.0 add a `version` per address, which berth ignores and derives from the address).
import * as net from "node:net";
import { InternalError } from "../errors.js";
import { type JsonObject, isJsonObject } from "./cni-types.js";

export interface CniInterface {
  name: string;
  mac?: string;
  /** The netns path for interfaces inside the pod; absent for host-side ones. */
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR notation, e.g. 10.88.0.5/16. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
  /** The object exactly as the plugin printed it: passed on as the next plugin's prevResult. */
  raw: JsonObject;
}

/** The error a plugin reported (`{code, msg, details}`), naming the plugin and the operation. */
export class CniPluginError extends InternalError {
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly code: number | undefined,
    readonly msg: string,
    readonly details: string | undefined,
  ) {
    const codeText = code === undefined ? "" : ` (code ${code})`;
    super(
      `CNI plugin ${plugin} ${command} failed${codeText}: ${msg}${details ? `; ${details}` : ""}`,
    );
  }
}

function strings(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter((v): v is string => typeof v === "string");
}

function optString(obj: JsonObject, key: string): string | undefined {
  const v = obj[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function parseInterface(raw: unknown): CniInterface {
  if (!isJsonObject(raw) || typeof raw["name"] !== "string") {
    throw new Error("an interface without a name");
  }
  const out: CniInterface = { name: raw["name"] };
  const mac = optString(raw, "mac");
  const sandbox = optString(raw, "sandbox");
  if (mac !== undefined) out.mac = mac;
  if (sandbox !== undefined) out.sandbox = sandbox;
  return out;
}

function parseIp(raw: unknown, interfaceCount: number): CniIpConfig {
  if (!isJsonObject(raw) || typeof raw["address"] !== "string") {
    throw new Error("an ip without an address");
  }
  const address = raw["address"];
  if (net.isIP(stripPrefix(address)) === 0)
    throw new Error(`bad ip address ${JSON.stringify(address)}`);
  const out: CniIpConfig = { address };
  const gateway = optString(raw, "gateway");
  if (gateway !== undefined) out.gateway = gateway;
  const idx = raw["interface"];
  if (idx !== undefined && idx !== null) {
    if (typeof idx !== "number" || !Number.isInteger(idx) || idx < 0 || idx >= interfaceCount) {
      throw new Error(
        `ip ${address} names interface ${JSON.stringify(idx)}, which the result lacks`,
      );
    }
    out.interface = idx;
  }
  return out;
}

function parseRoute(raw: unknown): CniRoute {
  if (!isJsonObject(raw) || typeof raw["dst"] !== "string") throw new Error("a route without dst");
  const out: CniRoute = { dst: raw["dst"] };
  const gw = optString(raw, "gw");
  if (gw !== undefined) out.gw = gw;
  return out;
}

function parseDns(raw: unknown): CniDns {
  if (!isJsonObject(raw)) return {};
  const out: CniDns = {};
  const ns = strings(raw["nameservers"]);
  const search = strings(raw["search"]);
  const options = strings(raw["options"]);
  const domain = optString(raw, "domain");
  if (ns !== undefined) out.nameservers = ns;
  if (search !== undefined) out.search = search;
  if (options !== undefined) out.options = options;
  if (domain !== undefined) out.domain = domain;
  return out;
}

/** Parses a result object; throws InternalError naming `plugin` when it is malformed. */
export function parseCniResult(raw: unknown, plugin: string): CniResult {
  try {
    if (!isJsonObject(raw)) throw new Error("not a JSON object");
    const cniVersion = typeof raw["cniVersion"] === "string" ? raw["cniVersion"] : "";
    const interfaces = (Array.isArray(raw["interfaces"]) ? raw["interfaces"] : []).map(
      parseInterface,
    );
    const ips = (Array.isArray(raw["ips"]) ? raw["ips"] : []).map((ip) =>
      parseIp(ip, interfaces.length),
    );
    const routes = (Array.isArray(raw["routes"]) ? raw["routes"] : []).map(parseRoute);
    return { cniVersion, interfaces, ips, routes, dns: parseDns(raw["dns"]), raw };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new InternalError(`CNI plugin ${plugin} printed an invalid result: ${why}`);
  }
}

/** Parses a plugin's stdout as JSON; throws naming the plugin when it is not. */
export function parsePluginOutput(stdout: string, plugin: string, command: string): unknown {
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    const shown = stdout.length > 200 ? `${stdout.slice(0, 200)}...` : stdout;
    throw new InternalError(
      `CNI plugin ${plugin} ${command} printed no JSON: ${JSON.stringify(shown)}`,
    );
  }
}

/**
 * The error of a plugin that exited non-zero: its `{code, msg, details}` when stdout (or, from
 * some plugins, stderr) holds one, else the exit status with whatever it printed.
 */
export function pluginFailure(
  plugin: string,
  command: string,
  stdout: string,
  stderr: string,
  exitText: string,
): CniPluginError {
  for (const text of [stdout, stderr]) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.trim());
    } catch {
      continue;
    }
    if (
      isJsonObject(parsed) &&
      (typeof parsed["msg"] === "string" || typeof parsed["code"] === "number")
    ) {
      const code = typeof parsed["code"] === "number" ? parsed["code"] : undefined;
      const msg =
        typeof parsed["msg"] === "string" && parsed["msg"] !== "" ? parsed["msg"] : exitText;
      const details =
        typeof parsed["details"] === "string" && parsed["details"] !== ""
          ? parsed["details"]
          : undefined;
      return new CniPluginError(plugin, command, code, msg, details);
    }
  }
  const printed = (stderr.trim() || stdout.trim()).slice(0, 1000);
  return new CniPluginError(
    plugin,
    command,
    undefined,
    printed ? `${exitText}: ${printed}` : exitText,
    undefined,
  );
}

export function stripPrefix(cidr: string): string {
  const slash = cidr.indexOf("/");
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

/**
 * The pod's addresses: those on interfaces inside the pod (the ones with a `sandbox`) or on no
 * named interface, IPv4 before IPv6, each family in the plugin's order; the first is the pod's
 * primary IP. A result that marks no interface as the pod's has all its addresses taken.
 */
export function podIps(result: CniResult): string[] {
  const anySandboxed = result.interfaces.some((i) => i.sandbox !== undefined);
  const inPod = result.ips.filter((ip) => {
    if (ip.interface === undefined) return true;
    const iface = result.interfaces[ip.interface];
    return iface !== undefined && (iface.sandbox !== undefined || !anySandboxed);
  });
  const addrs = inPod.map((ip) => stripPrefix(ip.address));
  return [...addrs.filter((a) => net.isIPv4(a)), ...addrs.filter((a) => net.isIPv6(a))];
}
