// Validated streaming requests wait here behind single-use random tokens until the client
// connects to the URL that names them (as k8s.io/cri-streaming's request cache): a token
// works once, expires after a TTL, and only so many wait at a time so that a caller who asks
// for URLs and never uses them cannot grow berth's memory.
import { randomBytes } from "node:crypto";
import { InternalError, ResourceExhaustedError } from "../errors.js";
import type { StreamRequest } from "./types.js";

/** Upstream's defaults: one minute, 1000 in flight. */
export const DEFAULT_TOKEN_TTL_MS = 60_000;
export const DEFAULT_MAX_TOKENS = 1000;

/** 16 random bytes: 22 URL-safe characters, unguessable (upstream uses 8 characters). */
const TOKEN_BYTES = 16;

interface Entry {
  req: StreamRequest;
  expiresAt: number;
}

export interface RequestCacheOptions {
  ttlMs?: number;
  maxTokens?: number;
  /** Milliseconds; tests pass their own clock. */
  now?: () => number;
}

export class RequestCache {
  private readonly ttlMs: number;
  private readonly maxTokens: number;
  private readonly now: () => number;
  /** Insertion order is expiry order (one TTL for all), so the oldest entries come first. */
  private readonly entries = new Map<string, Entry>();

  constructor(opts: RequestCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
    this.maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
    this.now = opts.now ?? Date.now;
  }

  /** Stores `req` and returns its token; throws ResourceExhaustedError when full. */
  insert(req: StreamRequest): string {
    this.gc();
    if (this.entries.size >= this.maxTokens) {
      throw new ResourceExhaustedError(
        `too many streaming requests in flight (${this.maxTokens}); try again later`,
      );
    }
    for (let tries = 0; tries < 10; tries++) {
      const token = randomBytes(TOKEN_BYTES).toString("base64url");
      if (this.entries.has(token)) continue;
      this.entries.set(token, { req, expiresAt: this.now() + this.ttlMs });
      return token;
    }
    throw new InternalError("failed to generate a unique streaming token");
  }

  /** Removes the token and returns its request, unless it is unknown or expired. */
  consume(token: string): StreamRequest | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (this.now() > entry.expiresAt) return undefined;
    return entry.req;
  }

  /** Tokens waiting (expired ones included until the next insert drops them). */
  get size(): number {
    return this.entries.size;
  }

  private gc(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) {
      if (now <= entry.expiresAt) return;
      this.entries.delete(token);
    }
  }
}
