// One HTTP exchange with a registry over undici: a progress watchdog (no bytes for the timeout →
// DeadlineExceededError), redirects followed (Authorization dropped when the origin changes, as
// blob storage behind a redirect rejects foreign credentials), and transport failures turned into
// UnavailableError naming the registry.
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { Agent, request, type Dispatcher } from "undici";
import {
  BerthError,
  DeadlineExceededError,
  FailedPreconditionError,
  UnavailableError,
  errorMessage,
} from "../../errors.js";

export interface HttpRequest {
  url: string;
  method?: "GET" | "POST" | "HEAD";
  headers?: Record<string, string>;
  body?: string;
  /** Skip TLS verification. */
  insecure: boolean;
  /** Names the registry in errors. */
  label: string;
  followRedirects?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The final URL after redirects. */
  url: string;
  /** Guarded by the watchdog until it ends; consume it or call `discard()`. */
  body: Readable;
  discard(): void;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Fires when nothing has happened for `ms`; `touch()` restarts the wait. */
class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  fired = false;
  constructor(
    private readonly ms: number,
    private readonly onFire: () => void,
  ) {
    this.touch();
  }
  touch(): void {
    if (this.fired) return;
    if (this.timer) this.timer.refresh();
    else
      this.timer = setTimeout(() => {
        this.fired = true;
        this.onFire();
      }, this.ms);
  }
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** Passes bytes through, telling the watchdog each time some arrive. */
class ProgressGuard extends Transform {
  constructor(private readonly dog: Watchdog) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.dog.touch();
    cb(null, chunk);
  }
}

export function headerValue(h: HttpResponse["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export class RegistryTransport {
  private readonly secure = new Agent({ connections: 16 });
  private readonly insecure = new Agent({
    connections: 16,
    connect: { rejectUnauthorized: false },
  });

  constructor(readonly progressTimeoutMs: number) {}

  async close(): Promise<void> {
    await Promise.all([this.secure.close(), this.insecure.close()]);
  }

  private stalled(label: string): DeadlineExceededError {
    return new DeadlineExceededError(
      `registry ${label}: no data received for ${this.progressTimeoutMs / 1000}s`,
    );
  }

  private translate(err: unknown, label: string, dog: Watchdog): BerthError {
    if (dog.fired) return this.stalled(label);
    if (err instanceof BerthError) return err;
    return new UnavailableError(`registry ${label}: ${describe(err)}`, { cause: err });
  }

  /** Sends one request, following redirects when asked. Non-2xx statuses are returned, not thrown. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let headers = { ...(req.headers ?? {}) };
    for (let hop = 0; ; hop++) {
      const res = await this.once({ ...req, url, headers });
      if (!req.followRedirects || !REDIRECT_STATUSES.has(res.status)) return res;
      const location = headerValue(res.headers, "location");
      res.discard();
      if (location === undefined) {
        throw new UnavailableError(`registry ${req.label}: redirect without Location`);
      }
      if (hop >= MAX_REDIRECTS)
        throw new UnavailableError(`registry ${req.label}: too many redirects`);
      const next = new URL(location, url);
      if (next.origin !== new URL(url).origin) {
        headers = Object.fromEntries(
          Object.entries(headers).filter(([k]) => k.toLowerCase() !== "authorization"),
        );
      }
      url = next.toString();
    }
  }

  private async once(req: HttpRequest): Promise<HttpResponse> {
    const controller = new AbortController();
    // Set once the headers are in; the watchdog then fails the body stream itself.
    const live: { guard?: ProgressGuard } = {};
    const dog = new Watchdog(this.progressTimeoutMs, () => {
      const err = this.stalled(req.label);
      live.guard?.destroy(err);
      controller.abort(err);
    });
    let res: Dispatcher.ResponseData;
    try {
      res = await request(req.url, {
        method: req.method ?? "GET",
        headers: { "user-agent": "berth", ...req.headers },
        body: req.body,
        dispatcher: req.insecure ? this.insecure : this.secure,
        signal: controller.signal,
        // The watchdog is the one timeout; undici's own would fire while a slow consumer
        // holds back the stream.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    } catch (err) {
      dog.clear();
      throw this.translate(err, req.label, dog);
    }
    dog.touch();
    const g = new ProgressGuard(dog);
    live.guard = g;
    const src = res.body;
    src.on("error", (err: unknown) => g.destroy(this.translate(err, req.label, dog)));
    g.on("close", () => {
      dog.clear();
      if (!src.destroyed) src.destroy();
    });
    g.on("end", () => dog.clear());
    src.pipe(g);
    return {
      status: res.statusCode,
      headers: res.headers,
      url: req.url,
      body: g,
      discard: () => {
        g.destroy();
      },
    };
  }
}

function describe(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    const msg = errorMessage(err);
    if (cause !== undefined && cause !== null && msg === "fetch failed") return describe(cause);
    return typeof code === "string" && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}

/** Reads a whole (guarded) body, failing once it passes `limit` bytes. */
export async function readBody(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      body.destroy();
      throw new FailedPreconditionError(`${what}: larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
