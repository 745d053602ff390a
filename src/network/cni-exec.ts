// Running one CNI plugin the way the spec says a runtime does: parameters in CNI_* environment
// variables, the plugin's config (with the network's name and version, the previous result and
// the runtime's capability arguments) on stdin, a result or an error object on stdout.
import { FailedPreconditionError, InvalidArgumentError } from "../errors.js";
import { quote } from "../validate/text.js";
import type { CommandRunner } from "../util/command.js";
import { findPlugin } from "./cni-config.js";
import { parsePluginOutput, pluginFailure } from "./cni-result.js";
import type { JsonObject, NetworkConfigList, PluginConfig } from "./cni-types.js";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION" | "STATUS";

export interface PodIdentity {
  podName: string;
  namespace: string;
  uid: string;
  /** The sandbox id: CNI's container id and K8S_POD_INFRA_CONTAINER_ID. */
  sandboxId: string;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  /** Empty or absent = every host address. */
  hostIP?: string;
}

export interface DnsCapability {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface BandwidthCapability {
  /** bits per second */
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/** Values for `runtimeConfig`, given to each plugin that declares the capability. */
export interface CapabilityArgs {
  portMappings?: PortMapping[];
  dns?: DnsCapability;
  ips?: string[];
  bandwidth?: BandwidthCapability;
}

export interface PluginCall {
  command: CniCommand;
  containerId: string;
  /** Empty for DEL when the netns is gone, as the spec allows. */
  netns: string;
  ifName: string;
  cniArgs: string;
  pluginDirs: readonly string[];
}

// CNI_ARGS is `K=V;K=V`: a value holding `;` or `=` would be split into other keys.
function argValue(field: string, value: string): string {
  if (value.includes("\0")) throw new InvalidArgumentError(field, "holds a NUL byte");
  if (/[;=]/.test(value)) throw new InvalidArgumentError(field, `${quote(value)} holds ; or =`);
  return value;
}

/** CNI_ARGS for a pod, in the keys CNI plugins for Kubernetes read. */
export function buildCniArgs(pod: PodIdentity): string {
  return [
    "IgnoreUnknown=1",
    `K8S_POD_NAMESPACE=${argValue("config.metadata.namespace", pod.namespace)}`,
    `K8S_POD_NAME=${argValue("config.metadata.name", pod.podName)}`,
    `K8S_POD_INFRA_CONTAINER_ID=${argValue("pod_sandbox_id", pod.sandboxId)}`,
    `K8S_POD_UID=${argValue("config.metadata.uid", pod.uid)}`,
  ].join(";");
}

/** The plugin's environment: the caller's (plugins run iptables and need PATH) plus CNI_*. */
export function buildPluginEnv(base: NodeJS.ProcessEnv, call: PluginCall): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (!k.startsWith("CNI_")) env[k] = v;
  }
  env["CNI_COMMAND"] = call.command;
  env["CNI_PATH"] = call.pluginDirs.filter((d) => d !== "").join(":");
  if (call.command === "VERSION" || call.command === "STATUS") return env;
  env["CNI_CONTAINERID"] = call.containerId;
  env["CNI_NETNS"] = call.netns;
  env["CNI_IFNAME"] = call.ifName;
  env["CNI_ARGS"] = call.cniArgs;
  return env;
}

/** `runtimeConfig` for a plugin: the capability args it declares and the runtime has, or undefined. */
export function runtimeConfigFor(
  plugin: PluginConfig,
  caps: CapabilityArgs,
): JsonObject | undefined {
  const declared = plugin.capabilities ?? {};
  const out: JsonObject = {};
  const offered: JsonObject = { ...caps };
  for (const [name, wanted] of Object.entries(declared)) {
    if (wanted && offered[name] !== undefined) out[name] = offered[name];
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The JSON a plugin of `list` reads on stdin. */
export function buildPluginStdin(
  list: NetworkConfigList,
  plugin: PluginConfig,
  caps: CapabilityArgs,
  prevResult: JsonObject | undefined,
): JsonObject {
  const stdin: JsonObject = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const rc = runtimeConfigFor(plugin, caps);
  if (rc !== undefined) {
    const existing = plugin["runtimeConfig"];
    stdin["runtimeConfig"] =
      typeof existing === "object" && existing !== null ? { ...existing, ...rc } : rc;
  }
  if (prevResult !== undefined) stdin["prevResult"] = prevResult;
  else delete stdin["prevResult"];
  return stdin;
}

export interface ExecPluginOptions {
  runner: CommandRunner;
  baseEnv: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** For messages: the network the plugin belongs to. */
  networkName: string;
}

/**
 * Runs plugin `type` with `stdin`; returns its parsed stdout (undefined when it printed nothing,
 * as DEL and CHECK do). A non-zero exit throws CniPluginError with the plugin's own message.
 */
export async function execPlugin(
  opts: ExecPluginOptions,
  type: string,
  call: PluginCall,
  stdin: JsonObject,
): Promise<unknown> {
  const label = `${type} (network ${opts.networkName})`;
  const binary = await findPlugin(type, call.pluginDirs);
  if (binary === undefined) {
    throw new FailedPreconditionError(
      `CNI plugin ${JSON.stringify(type)} not found in ${call.pluginDirs.join(":") || "(no plugin dirs)"}`,
    );
  }
  const res = await opts.runner.run(binary, [], {
    input: JSON.stringify(stdin),
    env: buildPluginEnv(opts.baseEnv, call),
    timeoutMs: opts.timeoutMs,
    maxOutputBytes: 1024 * 1024,
  });
  const stdout = res.stdout.toString("utf8");
  const stderr = res.stderr.toString("utf8");
  if (res.code !== 0 || res.timedOut) {
    const exitText = res.timedOut
      ? `timed out after ${opts.timeoutMs / 1000}s`
      : res.signal
        ? `killed by ${res.signal}`
        : `exit status ${String(res.code)}`;
    throw pluginFailure(label, call.command, stdout, stderr, exitText);
  }
  if (stdout.trim() === "") return undefined;
  return parsePluginOutput(stdout, label, call.command);
}

/** CRI PortMapping fields as kubelet sends them (proto names, enum as string). */
export interface CriPortMappingLike {
  protocol?: string | null;
  container_port?: number | null;
  host_port?: number | null;
  host_ip?: string | null;
}

/** portMappings for portmap from CRI's; mappings without a host port are not published. */
export function toCniPortMappings(mappings: readonly CriPortMappingLike[]): PortMapping[] {
  const out: PortMapping[] = [];
  for (const m of mappings) {
    const hostPort = m.host_port ?? 0;
    const containerPort = m.container_port ?? 0;
    if (hostPort <= 0 || containerPort <= 0) continue;
    const p = (m.protocol ?? "TCP").toLowerCase();
    const protocol = p === "udp" ? "udp" : p === "sctp" ? "sctp" : "tcp";
    const mapping: PortMapping = { hostPort, containerPort, protocol };
    if (m.host_ip) mapping.hostIP = m.host_ip;
    out.push(mapping);
  }
  return out;
}
