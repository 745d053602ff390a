// The TCP addresses berth listens on: /metrics and the streaming server. Each is bound for a
// moment to see that it is free, and a non-loopback streaming address without TLS is flagged.
import * as net from "node:net";
import type { BerthConfig } from "../../config/config.js";
import { parseHostPort } from "../../config/load.js";
import { errorMessage } from "../../errors.js";
import { type CheckLine, ok, warn } from "./report.js";

function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (err) => resolve(errorMessage(err)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

async function addressLine(item: string, key: string, address: string): Promise<CheckLine> {
  const hp = parseHostPort(address);
  if (hp === undefined) return warn(item, `"${address}" is not HOST:PORT`, `fix ${key}`);
  const err = await tryListen(hp.host, hp.port);
  if (err !== undefined) {
    return warn(
      item,
      `cannot listen on ${address}: ${err}`,
      `if a berthd already runs here this is expected; else free the port or change ${key}`,
    );
  }
  return ok(item, hp.port === 0 ? `${address} (a free port on ${hp.host})` : `${address} is free`);
}

export async function addressLines(config: BerthConfig): Promise<CheckLine[]> {
  const metrics =
    config.metrics_address === ""
      ? ok("metrics address", 'disabled (metrics_address = "")')
      : await addressLine("metrics address", "metrics_address", config.metrics_address);
  let streaming = await addressLine(
    "streaming address",
    "streaming_address",
    config.streaming_address,
  );
  const host = parseHostPort(config.streaming_address)?.host ?? "";
  if (streaming.level === "OK" && !isLoopback(host) && config.streaming.tls_cert_file === "") {
    streaming = warn(
      "streaming address",
      `${config.streaming_address} is reachable from the network without TLS: anyone with a URL can exec into containers for a minute`,
      "set [streaming] tls_cert_file, tls_key_file and tls_ca_file, or listen on 127.0.0.1",
    );
  }
  return [metrics, streaming];
}
