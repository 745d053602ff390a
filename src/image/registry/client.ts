// The OCI distribution v2 client: manifests and blobs of one repository, tried on each endpoint
// (mirrors first, then the registry), authenticated on demand, with every byte verified against
// the digest it was asked for.
import type { Readable } from "node:stream";
import type { RegistryConfig } from "../../config/config.js";
import {
  FailedPreconditionError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  errorMessage,
} from "../../errors.js";
import type { Logger } from "../../log.js";
import { formatReference, type ImageReference } from "../reference.js";
import { RegistryAuthenticator } from "./auth.js";
import {
  resolveCredentials,
  type RegistryCredentials,
  type ResolvedCredentials,
} from "./credentials.js";
import {
  DigestMismatchError,
  VerifyingStream,
  digestLike,
  sha256Digest,
  verifyBytes,
} from "./digest.js";
import { endpointLabel, registryEndpoints, type RegistryEndpoint } from "./endpoints.js";
import { RegistryTransport, headerValue, readBody, type HttpResponse } from "./http.js";
import { MANIFEST_ACCEPT, type Descriptor } from "./manifest.js";
import { parseWwwAuthenticate } from "./www-authenticate.js";

export interface RegistryClientOptions {
  /** Per-registry mirrors and insecure flags; `"*"` applies to registries without an entry. */
  registries?: Readonly<Record<string, RegistryConfig>>;
  /** No bytes for this long fails the request with DeadlineExceededError. */
  progressTimeoutMs?: number;
  logger?: Logger;
}

export interface FetchedManifest {
  bytes: Buffer;
  /** From Content-Type; the body's own mediaType is authoritative once parsed. */
  contentType: string | undefined;
  digest: string;
  /** The endpoint that served it; blobs are asked there first. */
  endpoint: RegistryEndpoint;
}

/** Caps for documents read into memory. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

interface Target {
  ref: ImageReference;
  creds: ResolvedCredentials;
  scope: string;
}

export class RegistryClient {
  private readonly transport: RegistryTransport;
  private readonly auth: RegistryAuthenticator;
  private readonly registries: Readonly<Record<string, RegistryConfig>>;
  /** Insecure endpoints found to speak plain HTTP only. */
  private readonly plainHttp = new Set<string>();
  private readonly logger: Logger | undefined;

  constructor(opts: RegistryClientOptions = {}) {
    this.transport = new RegistryTransport(opts.progressTimeoutMs ?? 60_000);
    this.auth = new RegistryAuthenticator(this.transport);
    this.registries = opts.registries ?? {};
    this.logger = opts.logger;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  endpoints(ref: ImageReference): RegistryEndpoint[] {
    return registryEndpoints(this.registries, ref.registry);
  }

  private target(ref: ImageReference, credentials: RegistryCredentials | undefined): Target {
    return {
      ref,
      creds: resolveCredentials(credentials),
      scope: `repository:${ref.repository}:pull`,
    };
  }

  /**
   * Fetches the manifest named `reference` (a tag or digest) of `ref`'s repository, trying each
   * endpoint in turn. When `reference` is a digest the bytes are verified against it.
   */
  async getManifest(
    ref: ImageReference,
    reference: string,
    credentials?: RegistryCredentials,
    expected?: { size?: number },
  ): Promise<FetchedManifest> {
    const t = this.target(ref, credentials);
    const name = `${ref.registry}/${ref.repository}`;
    const image = reference.includes(":") ? `${name}@${reference}` : `${name}:${reference}`;
    return this.onEachEndpoint(this.endpoints(ref), async (ep) => {
      const res = await this.get(ep, t, `/${ref.repository}/manifests/${reference}`, {
        accept: MANIFEST_ACCEPT,
        notFound: `image "${image}" not found`,
        follow: false,
      });
      const bytes = await readBody(res.body, MAX_MANIFEST_BYTES, `manifest of ${image}`);
      const what = `manifest of ${image} from ${endpointLabel(ep)}`;
      let digest: string;
      if (reference.includes(":")) {
        verifyBytes(bytes, reference, expected?.size, what);
        digest = reference;
      } else {
        digest = sha256Digest(bytes);
        const announced = headerValue(res.headers, "docker-content-digest");
        if (announced !== undefined && announced !== "" && announced.includes(":")) {
          const check = digestLike(announced, bytes);
          if (check !== announced) {
            throw new DigestMismatchError(
              `${what}: content does not match Docker-Content-Digest ${announced}`,
            );
          }
        }
      }
      return { bytes, contentType: headerValue(res.headers, "content-type"), digest, endpoint: ep };
    });
  }

  /**
   * Opens a blob as a stream that errors (DigestMismatchError) unless exactly `desc.size` bytes
   * hashing to `desc.digest` arrive. `prefer` is tried before the other endpoints.
   */
  async openBlob(
    ref: ImageReference,
    desc: Pick<Descriptor, "digest" | "size">,
    credentials?: RegistryCredentials,
    prefer?: RegistryEndpoint,
  ): Promise<Readable> {
    const t = this.target(ref, credentials);
    let eps = this.endpoints(ref);
    if (prefer) eps = [prefer, ...eps.filter((e) => e.base !== prefer.base)];
    return this.onEachEndpoint(eps, async (ep) => {
      const res = await this.get(ep, t, `/${ref.repository}/blobs/${desc.digest}`, {
        notFound: `blob ${desc.digest} of image "${formatReference(ref)}" not found`,
        follow: true,
      });
      const length = headerValue(res.headers, "content-length");
      if (length !== undefined && Number(length) !== desc.size) {
        res.discard();
        throw new DigestMismatchError(
          `blob ${desc.digest} from ${endpointLabel(ep)}: Content-Length ${length} does not match size ${desc.size}`,
        );
      }
      const verifier = new VerifyingStream(
        desc.digest,
        desc.size,
        `blob ${desc.digest} from ${endpointLabel(ep)}`,
      );
      res.body.on("error", (err: unknown) =>
        verifier.destroy(err instanceof Error ? err : new Error(String(err))),
      );
      // A reader that gives up (a cancelled pull) destroys what it got: the download ends too.
      verifier.once("close", () => {
        if (!res.body.destroyed) res.body.destroy();
      });
      return res.body.pipe(verifier);
    });
  }

  /** Reads a small blob (an image config) into memory, verified. */
  async readBlob(
    ref: ImageReference,
    desc: Pick<Descriptor, "digest" | "size">,
    credentials?: RegistryCredentials,
    prefer?: RegistryEndpoint,
  ): Promise<Buffer> {
    if (desc.size > MAX_CONFIG_BYTES) {
      throw new FailedPreconditionError(
        `blob ${desc.digest}: ${desc.size} bytes is too large to read into memory`,
      );
    }
    const stream = await this.openBlob(ref, desc, credentials, prefer);
    return readBody(stream, MAX_CONFIG_BYTES, `blob ${desc.digest}`);
  }

  /**
   * Runs `fn` on each endpoint until one succeeds. A mirror's failure is logged and the next is
   * tried; when all fail, the registry's own error (the last endpoint's) is thrown.
   */
  private async onEachEndpoint<T>(
    eps: RegistryEndpoint[],
    fn: (ep: RegistryEndpoint) => Promise<T>,
  ): Promise<T> {
    let last: unknown;
    for (const ep of eps) {
      try {
        return await fn(ep);
      } catch (err) {
        last = err;
        if (ep !== eps[eps.length - 1]) {
          this.logger?.warn(
            { endpoint: ep.base, err: errorMessage(err) },
            "registry endpoint failed; trying the next",
          );
        }
      }
    }
    throw last instanceof Error
      ? last
      : new UnavailableError(`no registry endpoint: ${String(last)}`);
  }

  /** GET `path` under the endpoint's /v2 with authentication; returns only 2xx responses. */
  private async get(
    ep: RegistryEndpoint,
    t: Target,
    path: string,
    opts: { accept?: string; notFound: string; follow: boolean },
  ): Promise<HttpResponse> {
    const label = endpointLabel(ep);
    const send = async (authorization: string | undefined): Promise<HttpResponse> => {
      const headers: Record<string, string> = {};
      if (opts.accept) headers.accept = opts.accept;
      if (authorization) headers.authorization = authorization;
      return this.sendWithFallback(ep, path, headers, opts.follow);
    };
    let res = await send(await this.auth.preemptive(ep, t.scope, t.creds));
    if (res.status === 401) {
      const challenges = parseWwwAuthenticate(res.headers["www-authenticate"]);
      res.discard();
      res = await send(await this.auth.respond(ep, challenges, t.scope, t.creds));
      if (res.status === 401) {
        res.discard();
        throw new UnauthenticatedError(
          t.creds.kind === "anonymous"
            ? `registry ${label}: pull access denied for ${t.ref.repository}: authentication required or repository does not exist`
            : `registry ${label}: the credentials were rejected for ${t.ref.repository}`,
        );
      }
    }
    if (res.status >= 200 && res.status <= 299) return res;
    const detail = await errorDetail(res);
    if (res.status === 403)
      throw new PermissionDeniedError(
        `registry ${label}: access to ${t.ref.repository} denied${detail}`,
      );
    if (res.status === 404)
      throw new NotFoundError(`${opts.notFound} (registry ${label}${detail})`);
    throw new UnavailableError(`registry ${label}: HTTP ${res.status} for ${path}${detail}`);
  }

  private async sendWithFallback(
    ep: RegistryEndpoint,
    path: string,
    headers: Record<string, string>,
    follow: boolean,
  ): Promise<HttpResponse> {
    const label = endpointLabel(ep);
    const httpsUrl = `${ep.base}${path}`;
    const httpUrl = httpsUrl.replace(/^https:/, "http:");
    if (ep.httpFallback && this.plainHttp.has(ep.base)) {
      return this.transport.send({
        url: httpUrl,
        headers,
        insecure: true,
        label,
        followRedirects: follow,
      });
    }
    try {
      return await this.transport.send({
        url: httpsUrl,
        headers,
        insecure: ep.insecure,
        label,
        followRedirects: follow,
      });
    } catch (err) {
      if (!ep.httpFallback || !(err instanceof UnavailableError)) throw err;
      const res = await this.transport.send({
        url: httpUrl,
        headers,
        insecure: true,
        label,
        followRedirects: follow,
      });
      this.plainHttp.add(ep.base);
      this.logger?.info({ endpoint: ep.base }, "insecure registry speaks plain HTTP");
      return res;
    }
  }
}

/** The registry's error message from an error body (`{"errors":[{"message":...}]}`), if any. */
async function errorDetail(res: HttpResponse): Promise<string> {
  try {
    const body = await readBody(res.body, 64 * 1024, "error body");
    const json = JSON.parse(body.toString("utf8")) as {
      errors?: { code?: string; message?: string }[];
    };
    const first = json.errors?.[0];
    if (first?.message) return `: ${first.code ? `${first.code} ` : ""}${first.message}`;
  } catch {
    // No readable detail: the status alone describes the failure.
  }
  return "";
}
