// A Docker-style token server for tests: answers GET /token?service=&scope= with a JWT signed
// RS256 by a self-signed certificate (sent in the `x5c` header) that the registry trusts
// through `auth.token.rootcertbundle`. With a user configured, anonymous callers get a token
// without access (as Docker Hub does for private repositories) and wrong passwords get 401.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { X509Certificate, randomBytes, sign } from "node:crypto";
import type { AddressInfo } from "node:net";

export const TOKEN_SERVICE = "berth-test-registry";
export const TOKEN_ISSUER = "berth-test-issuer";

export interface TokenServerOptions {
  certPem: string;
  keyPem: string;
  user?: { username: string; password: string };
  /** Token lifetime in seconds. */
  expiresIn?: number;
}

export interface TokenServer {
  realm: string;
  requestCount(): number;
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function makeJwt(opts: TokenServerOptions, subject: string, access: unknown[]): string {
  const der = new X509Certificate(opts.certPem).raw;
  const header = { typ: "JWT", alg: "RS256", x5c: [der.toString("base64")] };
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: TOKEN_ISSUER,
    sub: subject,
    aud: TOKEN_SERVICE,
    exp: now + (opts.expiresIn ?? 300),
    nbf: now - 10,
    iat: now,
    jti: randomBytes(8).toString("hex"),
    access,
  };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign("sha256", Buffer.from(signingInput), opts.keyPem);
  return `${signingInput}.${b64url(signature)}`;
}

/** `repository:name:pull,push` → an access entry. */
function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first < 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(","),
  };
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  let count = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    count++;
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    let subject = "";
    const auth = req.headers.authorization;
    if (auth?.startsWith("Basic ")) {
      const [u, ...p] = Buffer.from(auth.slice(6), "base64").toString("utf8").split(":");
      if (!opts.user || u !== opts.user.username || p.join(":") !== opts.user.password) {
        res
          .writeHead(401, { "content-type": "application/json" })
          .end('{"details":"wrong credentials"}');
        return;
      }
      subject = u ?? "";
    }
    const granted = !opts.user || subject !== "";
    const access = granted
      ? url.searchParams.getAll("scope").flatMap((s) => {
          const a = parseScope(s);
          return a ? [a] : [];
        })
      : [];
    const token = makeJwt(opts, subject, access);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token, access_token: token, expires_in: opts.expiresIn ?? 300 }));
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    requestCount: () => count,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
