// Where to send a registry's requests: its mirrors in configured order, then the registry itself.
// Loopback registries are spoken to over plain HTTP; `insecure` registries over HTTPS without
// certificate checks, falling back to plain HTTP when HTTPS does not connect (as Docker does).
import type { RegistryConfig } from "../../config/config.js";
import { apiHost } from "../reference.js";

export interface RegistryEndpoint {
  /** URL prefix up to and including `/v2`, e.g. `https://registry-1.docker.io/v2`. */
  base: string;
  /** `host[:port]` of the endpoint, used in messages and token cache keys. */
  host: string;
  /** Skip TLS certificate verification. */
  insecure: boolean;
  /** Retry over plain HTTP when an HTTPS connection fails. */
  httpFallback: boolean;
  /** The registry this endpoint serves (e.g. `docker.io` for a Docker Hub mirror). */
  registry: string;
  mirror: boolean;
}

/** The configuration that applies to `registry`: its own entry, else the `"*"` entry. */
export function registryConfigFor(
  registries: Readonly<Record<string, RegistryConfig>>,
  registry: string,
): RegistryConfig {
  return registries[registry] ?? registries["*"] ?? { mirrors: [], insecure: false };
}

/** True for `localhost`, `127.0.0.0/8` and `[::1]`, with or without a port. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = stripPort(hostPort).toLowerCase();
  if (host === "localhost" || host === "[::1]" || host === "::1") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

function stripPort(hostPort: string): string {
  if (hostPort.startsWith("[")) {
    const end = hostPort.indexOf("]");
    return end < 0 ? hostPort : hostPort.slice(0, end + 1);
  }
  const colon = hostPort.lastIndexOf(":");
  return colon < 0 ? hostPort : hostPort.slice(0, colon);
}

function withV2(origin: string, pathname: string): string {
  const p = pathname.replace(/\/+$/, "");
  return `${origin}${p.endsWith("/v2") ? p : `${p}/v2`}`;
}

function hostEndpoint(
  hostPort: string,
  insecure: boolean,
  registry: string,
  mirror: boolean,
): RegistryEndpoint {
  const loopback = isLoopbackHost(hostPort);
  return {
    base: `${loopback ? "http" : "https"}://${hostPort}/v2`,
    host: hostPort,
    insecure,
    httpFallback: insecure && !loopback,
    registry,
    mirror,
  };
}

/** A mirror given as a URL (`https://m.example/prefix`) or as a bare `host[:port]`. */
function mirrorEndpoint(
  mirror: string,
  registries: Readonly<Record<string, RegistryConfig>>,
  registry: string,
  insecure: boolean,
): RegistryEndpoint | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(mirror)) {
    const hostPort = mirror.replace(/\/+$/, "");
    return hostEndpoint(
      hostPort,
      insecure || registryConfigFor(registries, hostPort).insecure,
      registry,
      true,
    );
  }
  let url: URL;
  try {
    url = new URL(mirror);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  return {
    base: withV2(url.origin, url.pathname),
    host: url.host,
    insecure: insecure || registries[url.host]?.insecure === true,
    httpFallback: false,
    registry,
    mirror: true,
  };
}

/** Every endpoint to try for `registry` (a reference's registry, e.g. `docker.io`), in order. */
export function registryEndpoints(
  registries: Readonly<Record<string, RegistryConfig>>,
  registry: string,
): RegistryEndpoint[] {
  const cfg = registryConfigFor(registries, registry);
  const out: RegistryEndpoint[] = [];
  for (const m of cfg.mirrors) {
    const ep = mirrorEndpoint(m, registries, registry, cfg.insecure);
    if (ep) out.push(ep);
  }
  out.push(hostEndpoint(apiHost(registry), cfg.insecure, registry, false));
  return out;
}

/** How an endpoint is named in errors: `127.0.0.1:5000`, or `m.example (mirror of docker.io)`. */
export function endpointLabel(ep: RegistryEndpoint): string {
  return ep.mirror ? `${ep.host} (mirror of ${ep.registry})` : ep.registry;
}
