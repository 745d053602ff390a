// The Prometheus endpoint: GET /metrics answers from one or more registries merged at scrape
// time (berth's own metrics, and the per-container collector once it exists).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../log.js";
import { errorMessage } from "../errors.js";

/** A source of exposition text; the per-container collector implements it too. */
export interface MetricsSource {
  metrics(): Promise<string>;
}

export function registrySource(registry: Registry): MetricsSource {
  return { metrics: () => registry.metrics() };
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export class MetricsHttpServer {
  private readonly server: http.Server;
  private readonly sources: MetricsSource[];

  constructor(
    sources: readonly MetricsSource[],
    private readonly log: Logger,
  ) {
    this.sources = [...sources];
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  /** A source that exists only once the daemon is assembled (the port is bound before that). */
  addSource(source: MetricsSource): void {
    this.sources.push(source);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    try {
      const parts = await Promise.all(this.sources.map((s) => s.metrics()));
      const body = parts.filter((p) => p.length > 0).join("\n");
      res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, "metrics scrape failed");
      res.writeHead(500, { "content-type": "text/plain" }).end(`${errorMessage(err)}\n`);
    }
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
