// Registry credentials as CRI's AuthConfig carries them, reduced to what a request needs.
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../../errors.js";

/** The fields of CRI `AuthConfig` that authenticate a pull (server_address is not needed). */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** base64 of `username:password`. */
  auth?: string;
  /** An OAuth2 refresh token, exchanged at the token realm for an access token. */
  identity_token?: string;
  /** A bearer token sent to the registry as is. */
  registry_token?: string;
}

export type ResolvedCredentials =
  | { kind: "anonymous" }
  | { kind: "basic"; username: string; password: string }
  | { kind: "identity"; username: string; refreshToken: string }
  | { kind: "registry-token"; token: string };

/** Resolves AuthConfig-style fields to one kind of credentials; empty fields count as absent. */
export function resolveCredentials(c: RegistryCredentials | undefined): ResolvedCredentials {
  if (!c) return { kind: "anonymous" };
  if (c.registry_token) return { kind: "registry-token", token: c.registry_token };
  let username = c.username ?? "";
  let password = c.password ?? "";
  if (c.auth) {
    const decoded = Buffer.from(c.auth, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) throw new InvalidArgumentError("auth.auth", "must be base64 of username:password");
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  if (c.identity_token) return { kind: "identity", username, refreshToken: c.identity_token };
  if (username === "" && password === "") return { kind: "anonymous" };
  return { kind: "basic", username, password };
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/** A stable, non-reversible identity for cache keys, so tokens never cross credentials. */
export function credentialsKey(c: ResolvedCredentials): string {
  switch (c.kind) {
    case "anonymous":
      return "anon";
    case "basic":
      return `basic:${fingerprint(`${c.username}\0${c.password}`)}`;
    case "identity":
      return `identity:${fingerprint(`${c.username}\0${c.refreshToken}`)}`;
    case "registry-token":
      return `token:${fingerprint(c.token)}`;
  }
}

function fingerprint(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 32);
}
