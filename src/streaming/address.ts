// The streaming server's listen address and the host its URLs name. A URL must be absolute and
// reachable: a server bound to every interface (0.0.0.0, ::, or an empty host) names the
// address of the interface that carries the default route (the node's address, as containerd
// picks it), or loopback on a host without one. IPv6 hosts go in brackets.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import * as os from "node:os";
import { InvalidArgumentError } from "../errors.js";

export interface HostPort {
  host: string;
  port: number;
}

/** Parses "host:port", "[v6]:port" or ":port" (every interface). */
export function parseAddress(address: string, field = "streaming.address"): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(address);
  if (!m) throw new InvalidArgumentError(field, `"${address}" is not HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new InvalidArgumentError(field, `port ${port} is out of range`);
  return { host: m[1] ?? m[2] ?? "", port };
}

export function isWildcard(host: string): boolean {
  return host === "" || host === "0.0.0.0" || host === "::" || host === "[::]";
}

/** The interface of the IPv4 default route, from /proc/net/route (undefined when none). */
function defaultRouteInterface(routeTable: string): string | undefined {
  for (const line of routeTable.split("\n").slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && destination === "00000000" && mask === "00000000") return iface;
  }
  return undefined;
}

/** A reachable address of this host for a server bound to every interface. */
export function nodeAddress(
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
  routeTable: () => string = () => readFileSync("/proc/net/route", "utf8"),
): string {
  let iface: string | undefined;
  try {
    iface = defaultRouteInterface(routeTable());
  } catch {
    iface = undefined;
  }
  const v4 = (list: os.NetworkInterfaceInfo[] | undefined) =>
    list?.find((a) => a.family === "IPv4" && !a.internal)?.address;
  return (iface ? v4(interfaces[iface]) : undefined) ?? "127.0.0.1";
}

/** HOST as it goes in a URL: the node's address for a wildcard, IPv6 in brackets. */
export function urlHost(boundHost: string, wildcard: () => string = nodeAddress): string {
  const host = isWildcard(boundHost) ? wildcard() : boundHost;
  return isIP(host) === 6 ? `[${host}]` : host;
}
