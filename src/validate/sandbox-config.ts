// PodSandboxConfig as RunPodSandbox receives it, checked whole before anything is made: every
// string, the metadata (which becomes CNI_ARGS and file names), hostname, log directory, DNS
// (written into resolv.conf line by line), port mappings, cgroup parent and resources.
import { isIP } from "node:net";
import { InvalidArgumentError } from "../errors.js";
import type { PodSandboxConfig__Output } from "../gen/runtime/v1/PodSandboxConfig.js";
import { checkPodMetadata, checkStringMap } from "./metadata.js";
import { checkCgroupParent } from "../cgroup/cgroup-parent.js";
import { checkLogDirectory } from "./paths.js";
import { type ResourceHost, validateResources } from "./resources.js";
import { checkDnsIsh, quote } from "./text.js";
import { checkAllStrings } from "./walk.js";

/** sethostname(2) refuses more than HOST_NAME_MAX (64) bytes. */
export const MAX_HOSTNAME = 64;
const PROTOCOLS = new Set(["TCP", "UDP", "SCTP"]);
/** glibc reads at most this many of each from resolv.conf; kubelet caps searches at 32. */
const MAX_DNS_SERVERS = 16;
const MAX_DNS_SEARCHES = 32;
const MAX_DNS_OPTIONS = 32;
const MAX_PORT_MAPPINGS = 1024;

export interface SandboxHost extends ResourceHost {
  cgroupDriver: "cgroupfs" | "systemd";
}

function checkDns(cfg: PodSandboxConfig__Output): void {
  const dns = cfg.dns_config;
  if (!dns) return;
  const lists = [
    ["servers", dns.servers, MAX_DNS_SERVERS],
    ["searches", dns.searches, MAX_DNS_SEARCHES],
    ["options", dns.options, MAX_DNS_OPTIONS],
  ] as const;
  for (const [name, list, max] of lists) {
    if (list.length > max)
      throw new InvalidArgumentError(`config.dns_config.${name}`, `more than ${max} entries`);
    for (const [i, v] of list.entries()) {
      const f = `config.dns_config.${name}[${i}]`;
      // One resolv.conf line each: whitespace would add words, a newline whole directives.
      if (v === "" || v.length > 253 || /\s/.test(v)) {
        throw new InvalidArgumentError(
          f,
          `${quote(v)} must be 1-253 characters without whitespace`,
        );
      }
      if (name === "servers" && isIP(v) === 0)
        throw new InvalidArgumentError(f, `${quote(v)} is not an IP address`);
    }
  }
}

function checkPorts(cfg: PodSandboxConfig__Output): void {
  if (cfg.port_mappings.length > MAX_PORT_MAPPINGS) {
    throw new InvalidArgumentError(
      "config.port_mappings",
      `more than ${MAX_PORT_MAPPINGS} entries`,
    );
  }
  for (const [i, p] of cfg.port_mappings.entries()) {
    const f = `config.port_mappings[${i}]`;
    if (!Number.isInteger(p.container_port) || p.container_port < 1 || p.container_port > 65535) {
      throw new InvalidArgumentError(
        `${f}.container_port`,
        `${p.container_port} is outside 1..65535`,
      );
    }
    if (!Number.isInteger(p.host_port) || p.host_port < 0 || p.host_port > 65535) {
      throw new InvalidArgumentError(`${f}.host_port`, `${p.host_port} is outside 0..65535`);
    }
    if (typeof p.protocol !== "string" || !PROTOCOLS.has(p.protocol)) {
      throw new InvalidArgumentError(
        `${f}.protocol`,
        `${String(p.protocol)} is not TCP, UDP or SCTP`,
      );
    }
    if (p.host_ip !== "" && isIP(p.host_ip) === 0) {
      throw new InvalidArgumentError(`${f}.host_ip`, `${quote(p.host_ip)} is not an IP address`);
    }
  }
}

export function validateSandboxFields(cfg: PodSandboxConfig__Output, host: SandboxHost): void {
  checkAllStrings("config", cfg);
  checkPodMetadata(cfg.metadata);
  if (cfg.hostname !== "") checkDnsIsh("config.hostname", cfg.hostname, MAX_HOSTNAME);
  checkLogDirectory(cfg.log_directory);
  checkDns(cfg);
  checkPorts(cfg);
  checkStringMap("config.labels", cfg.labels);
  checkStringMap("config.annotations", cfg.annotations);
  const linux = cfg.linux;
  if (!linux) return;
  checkCgroupParent(linux.cgroup_parent, host.cgroupDriver);
  if (linux.overhead) validateResources(linux.overhead, "config.linux.overhead", host);
  if (linux.resources) validateResources(linux.resources, "config.linux.resources", host);
}
