// Registry authentication: answers a 401's WWW-Authenticate challenge with Basic credentials or
// with a bearer token from the challenge's realm (the Docker token flow, including the OAuth2
// refresh-token exchange for identity tokens). Tokens are cached per endpoint, scope and
// credentials until shortly before they expire; what each endpoint asked for is remembered so
// later requests authenticate up front instead of taking a 401 first.
import { PermissionDeniedError, UnauthenticatedError, UnavailableError } from "../../errors.js";
import type { AuthChallenge } from "./www-authenticate.js";
import { basicAuthorization, credentialsKey, type ResolvedCredentials } from "./credentials.js";
import type { RegistryEndpoint } from "./endpoints.js";
import { endpointLabel } from "./endpoints.js";
import { readBody, type RegistryTransport } from "./http.js";

const DEFAULT_TOKEN_LIFETIME_S = 60;
const MAX_TOKEN_RESPONSE = 1024 * 1024;

interface CachedToken {
  token: string;
  expiresAt: number;
}

interface BearerChallenge {
  realm: string;
  service: string | undefined;
}

/** The Authorization header value for a request, or undefined for none. */
export type Authorization = string | undefined;

export class RegistryAuthenticator {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();
  /** What each endpoint asked for last: Basic, or Bearer with its realm. */
  private readonly schemes = new Map<string, "basic" | BearerChallenge>();

  constructor(
    private readonly transport: RegistryTransport,
    private readonly now: () => number = Date.now,
  ) {}

  private endpointKey(ep: RegistryEndpoint): string {
    return ep.base;
  }

  /** The Authorization to send before any challenge, from what this endpoint asked for before. */
  async preemptive(
    ep: RegistryEndpoint,
    scope: string,
    creds: ResolvedCredentials,
  ): Promise<Authorization> {
    if (creds.kind === "registry-token") return `Bearer ${creds.token}`;
    const known = this.schemes.get(this.endpointKey(ep));
    if (known === undefined) return undefined;
    if (known === "basic")
      return creds.kind === "basic"
        ? basicAuthorization(creds.username, creds.password)
        : undefined;
    return `Bearer ${await this.token(ep, known, scope, creds)}`;
  }

  /**
   * The Authorization answering a 401 with `challenges`. Throws UnauthenticatedError when the
   * challenge cannot be answered with these credentials.
   */
  async respond(
    ep: RegistryEndpoint,
    challenges: readonly AuthChallenge[],
    scope: string,
    creds: ResolvedCredentials,
  ): Promise<string> {
    const label = endpointLabel(ep);
    if (creds.kind === "registry-token") {
      throw new UnauthenticatedError(`registry ${label}: the registry token was rejected`);
    }
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    if (bearer?.params.realm !== undefined) {
      const ch: BearerChallenge = { realm: bearer.params.realm, service: bearer.params.service };
      this.schemes.set(this.endpointKey(ep), ch);
      // A 401 despite a cached token means the token is no longer good: fetch a fresh one.
      this.tokens.delete(this.tokenKey(ep, scope, creds));
      return `Bearer ${await this.token(ep, ch, scope, creds)}`;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      this.schemes.set(this.endpointKey(ep), "basic");
      if (creds.kind !== "basic") {
        throw new UnauthenticatedError(
          `registry ${label}: authentication required (Basic) and no credentials given`,
        );
      }
      return basicAuthorization(creds.username, creds.password);
    }
    const offered = challenges.map((c) => c.scheme).join(", ") || "none";
    throw new UnauthenticatedError(
      `registry ${label}: unsupported authentication challenge (${offered})`,
    );
  }

  private tokenKey(ep: RegistryEndpoint, scope: string, creds: ResolvedCredentials): string {
    return `${ep.host}|${scope}|${credentialsKey(creds)}`;
  }

  private async token(
    ep: RegistryEndpoint,
    ch: BearerChallenge,
    scope: string,
    creds: ResolvedCredentials,
  ): Promise<string> {
    const key = this.tokenKey(ep, scope, creds);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const p = this.fetchToken(ep, ch, scope, creds)
      .then((t) => {
        this.tokens.set(key, t);
        return t.token;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  private async fetchToken(
    ep: RegistryEndpoint,
    ch: BearerChallenge,
    scope: string,
    creds: ResolvedCredentials,
  ): Promise<CachedToken> {
    const label = endpointLabel(ep);
    let realm: URL;
    try {
      realm = new URL(ch.realm);
    } catch {
      throw new UnavailableError(`registry ${label}: bad token realm "${ch.realm}"`);
    }
    const insecure = ep.insecure || realm.protocol === "http:";
    let res;
    if (creds.kind === "identity") {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.refreshToken,
        client_id: "berth",
        scope,
      });
      if (ch.service) form.set("service", ch.service);
      res = await this.transport.send({
        url: realm.toString(),
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
        insecure,
        label,
      });
    } else {
      if (ch.service) realm.searchParams.set("service", ch.service);
      realm.searchParams.set("scope", scope);
      const headers: Record<string, string> = {};
      if (creds.kind === "basic")
        headers.authorization = basicAuthorization(creds.username, creds.password);
      res = await this.transport.send({
        url: realm.toString(),
        headers,
        insecure,
        label,
        followRedirects: true,
      });
    }
    if (res.status === 401) {
      res.discard();
      throw new UnauthenticatedError(
        creds.kind === "anonymous"
          ? `registry ${label}: authentication required`
          : `registry ${label}: authentication failed: the credentials were rejected`,
      );
    }
    if (res.status === 403) {
      res.discard();
      throw new PermissionDeniedError(`registry ${label}: access denied for ${scope}`);
    }
    if (res.status < 200 || res.status > 299) {
      res.discard();
      throw new UnavailableError(`registry ${label}: token server answered HTTP ${res.status}`);
    }
    const body = await readBody(res.body, MAX_TOKEN_RESPONSE, `registry ${label} token response`);
    return this.parseTokenResponse(body, label);
  }

  private parseTokenResponse(body: Buffer, label: string): CachedToken {
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      throw new UnavailableError(`registry ${label}: token response is not JSON`);
    }
    const r = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
    const token =
      typeof r.token === "string" && r.token !== ""
        ? r.token
        : typeof r.access_token === "string" && r.access_token !== ""
          ? r.access_token
          : undefined;
    if (token === undefined)
      throw new UnavailableError(`registry ${label}: token response without a token`);
    const lifetime =
      typeof r.expires_in === "number" && r.expires_in > 0
        ? r.expires_in
        : DEFAULT_TOKEN_LIFETIME_S;
    // Renew a little early so a token does not expire between check and use.
    const margin = Math.min(10, lifetime / 10);
    return { token, expiresAt: this.now() + (lifetime - margin) * 1000 };
  }
}
