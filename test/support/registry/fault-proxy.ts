// An HTTP proxy in front of the test registry: counts requests by path and injects faults into
// blob downloads (flip a byte, stall, cut the connection, redirect) so tests can see what the
// client does when a registry misbehaves or dies.
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface ProxyFaults {
  /** Flip one byte in the middle of every blob download. */
  corruptBlobs?: boolean;
  /** Flip one byte in the middle of the downloads of blobs whose path matches. */
  corruptBlob?: RegExp;
  /**
   * Send `afterBytes` bytes of the blobs whose path matches, then hold the rest (the connection
   * stays open) until `until` resolves; then send the rest.
   */
  holdBlob?: { path: RegExp; afterBytes: number; until: Promise<void> };
  /** Send this many bytes of a blob, then nothing more (the connection stays open). */
  stallBlobsAfterBytes?: number;
  /** Send this many bytes of a blob, then reset the connection. */
  cutBlobsAfterBytes?: number;
  /** Answer blob downloads with 307 to the same path under `/__redirected__`. */
  redirectBlobs?: boolean;
  /** Answer every request with this status (e.g. 503) without asking the registry. */
  failAllWith?: number;
  /** Accept requests and never answer them. */
  neverAnswer?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
}

const BLOB_GET = /^\/v2\/.+\/blobs\/sha(256|512):[a-f0-9]+$/;
const REDIRECT_PREFIX = "/__redirected__";

export class FaultProxy {
  faults: ProxyFaults = {};
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Blob responses halted by stallBlobsAfterBytes whose client has not gone yet. */
  private readonly stalled = new Set<ServerResponse>();
  port = 0;

  /** How many stalled blob downloads are still held open by their client. */
  get stalledOpen(): number {
    return this.stalled.size;
  }

  constructor(private readonly upstreamPort: number) {}

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  count(path: RegExp): number {
    return this.requests.filter((r) => path.test(r.path)).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const rawPath = req.url ?? "/";
    const pathOnly = rawPath.split("?")[0] ?? "/";
    this.requests.push({ method: req.method ?? "GET", path: pathOnly });
    const f = this.faults;
    if (f.neverAnswer) return;
    if (f.failAllWith !== undefined) {
      res.writeHead(f.failAllWith).end();
      return;
    }
    const isBlobGet = req.method === "GET" && BLOB_GET.test(pathOnly);
    if (isBlobGet && f.redirectBlobs) {
      res.writeHead(307, { location: `${REDIRECT_PREFIX}${rawPath}` }).end();
      return;
    }
    const upstreamPath = rawPath.startsWith(REDIRECT_PREFIX)
      ? rawPath.slice(REDIRECT_PREFIX.length)
      : rawPath;
    const blobBody = isBlobGet || rawPath.startsWith(REDIRECT_PREFIX);
    const up = httpRequest(
      {
        host: "127.0.0.1",
        port: this.upstreamPort,
        method: req.method,
        path: upstreamPath,
        headers: req.headers,
      },
      (upRes) => this.relay(upRes, res, blobBody && (upRes.statusCode ?? 0) === 200, upstreamPath),
    );
    up.on("error", () => res.socket?.destroy());
    req.pipe(up);
  }

  private relay(
    upRes: IncomingMessage,
    res: ServerResponse,
    faulty: boolean,
    blobPath: string,
  ): void {
    res.writeHead(upRes.statusCode ?? 502, upRes.headers);
    if (!faulty) {
      upRes.pipe(res);
      upRes.on("error", () => res.socket?.destroy());
      return;
    }
    const f = { ...this.faults };
    const total = Number(upRes.headers["content-length"] ?? "0");
    const flipAt = Math.floor(total / 2);
    let sent = 0;
    let halted = false;
    const corrupt = f.corruptBlobs === true || f.corruptBlob?.test(blobPath) === true;
    const hold = f.holdBlob?.path.test(blobPath) ? f.holdBlob : undefined;
    let holding: Promise<void> | undefined;
    upRes.on("data", (chunk: Buffer) => {
      if (halted) return;
      let out = chunk;
      if (corrupt && flipAt >= sent && flipAt < sent + chunk.length) {
        out = Buffer.from(chunk);
        out[flipAt - sent] = (out[flipAt - sent] ?? 0) ^ 0xff;
      }
      const limit = f.stallBlobsAfterBytes ?? f.cutBlobsAfterBytes;
      if (limit !== undefined && sent + out.length >= limit) {
        res.write(out.subarray(0, Math.max(0, limit - sent)));
        halted = true;
        if (f.stallBlobsAfterBytes !== undefined) {
          this.stalled.add(res);
          res.once("close", () => this.stalled.delete(res));
        }
        if (f.cutBlobsAfterBytes !== undefined) {
          // Let the partial bytes leave before the reset.
          setTimeout(() => res.socket?.destroy(), 50);
        }
        return;
      }
      if (hold && holding === undefined && sent + out.length > hold.afterBytes) {
        const head = out.subarray(0, Math.max(0, hold.afterBytes - sent));
        const rest = out.subarray(head.length);
        res.write(head);
        sent += head.length;
        upRes.pause();
        holding = hold.until.then(() => {
          sent += rest.length;
          res.write(rest);
          upRes.resume();
        });
        return;
      }
      sent += out.length;
      res.write(out);
    });
    upRes.on("end", () => {
      if (!halted) void (holding ?? Promise.resolve()).then(() => res.end());
    });
    upRes.on("error", () => res.socket?.destroy());
  }
}
