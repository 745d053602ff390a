// Pushes blobs and manifests through the registry HTTP API (monolithic upload: POST, then PUT
// ?digest=), answering Basic and Bearer challenges itself.
import { parseWwwAuthenticate } from "../../../src/image/registry/www-authenticate.js";
import type { Blob, BuiltImage, BuiltIndex } from "./image-builder.js";

export interface PushCredentials {
  username: string;
  password: string;
}

export class RegistryPusher {
  private readonly authHeaders = new Map<string, string>();

  /** `baseUrl` like `http://127.0.0.1:5000` (the registry itself, not the counting proxy). */
  constructor(
    readonly baseUrl: string,
    private readonly creds?: PushCredentials,
  ) {}

  private basic(): string | undefined {
    if (!this.creds) return undefined;
    return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString("base64")}`;
  }

  private async authorize(www: string | null, repo: string): Promise<string> {
    const ch = parseWwwAuthenticate(www ?? "");
    const bearer = ch.find((c) => c.scheme === "bearer");
    if (bearer?.params.realm) {
      const u = new URL(bearer.params.realm);
      if (bearer.params.service) u.searchParams.set("service", bearer.params.service);
      u.searchParams.set("scope", `repository:${repo}:pull,push`);
      const basic = this.basic();
      const res = await fetch(u, { headers: basic ? { authorization: basic } : {} });
      if (!res.ok) throw new Error(`token server: HTTP ${res.status}`);
      const body = (await res.json()) as { token?: string; access_token?: string };
      return `Bearer ${body.token ?? body.access_token ?? ""}`;
    }
    const basic = this.basic();
    if (!basic) throw new Error("registry wants credentials and the pusher has none");
    return basic;
  }

  /** fetch with the repository's auth, answering one 401 challenge. */
  private async send(repo: string, url: string, init: RequestInit): Promise<Response> {
    const withAuth = (): RequestInit => {
      const h = new Headers(init.headers);
      const a = this.authHeaders.get(repo);
      if (a) h.set("authorization", a);
      return { ...init, headers: h, redirect: "manual" };
    };
    let res = await fetch(url, withAuth());
    if (res.status === 401) {
      await res.arrayBuffer();
      this.authHeaders.set(repo, await this.authorize(res.headers.get("www-authenticate"), repo));
      res = await fetch(url, withAuth());
    }
    return res;
  }

  async pushBlob(repo: string, blob: Pick<Blob, "digest" | "bytes">): Promise<void> {
    const head = await this.send(repo, `${this.baseUrl}/v2/${repo}/blobs/${blob.digest}`, {
      method: "HEAD",
    });
    if (head.status === 200) return;
    const start = await this.send(repo, `${this.baseUrl}/v2/${repo}/blobs/uploads/`, {
      method: "POST",
    });
    await start.arrayBuffer();
    const location = start.headers.get("location");
    if (start.status !== 202 || !location)
      throw new Error(`starting upload to ${repo}: HTTP ${start.status}`);
    const url = new URL(location, this.baseUrl);
    url.searchParams.set("digest", blob.digest);
    const put = await this.send(repo, url.toString(), {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: blob.bytes,
    });
    const text = await put.text();
    if (put.status !== 201)
      throw new Error(`uploading ${blob.digest} to ${repo}: HTTP ${put.status} ${text}`);
  }

  async pushManifest(
    repo: string,
    reference: string,
    blob: Pick<Blob, "bytes" | "mediaType">,
  ): Promise<void> {
    const res = await this.send(repo, `${this.baseUrl}/v2/${repo}/manifests/${reference}`, {
      method: "PUT",
      headers: { "content-type": blob.mediaType },
      body: blob.bytes,
    });
    const text = await res.text();
    if (res.status !== 201)
      throw new Error(`pushing manifest ${repo}:${reference}: HTTP ${res.status} ${text}`);
  }

  /** Pushes layers, config and manifest; tags the manifest with `tag` when given. */
  async pushImage(repo: string, image: BuiltImage, tag?: string): Promise<void> {
    for (const l of image.layers) await this.pushBlob(repo, l);
    await this.pushBlob(repo, image.config);
    await this.pushManifest(repo, tag ?? image.manifest.digest, image.manifest);
  }

  async pushIndex(repo: string, built: BuiltIndex, tag?: string): Promise<void> {
    for (const img of built.images) await this.pushImage(repo, img);
    await this.pushManifest(repo, tag ?? built.index.digest, built.index);
  }
}
