// Image references (`name[:tag][@digest]`) parsed with Docker's normalisation, so that
// `busybox`, `library/busybox` and `docker.io/library/busybox:latest` all name one image — the
// form crictl shows in repoTags/repoDigests.
import { InvalidArgumentError } from "../errors.js";

export interface ImageReference {
  /** Registry host as written (lower-cased), `docker.io` for Docker Hub; may carry `:port`. */
  registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  repository: string;
  /** Absent only when the reference names a digest and no tag. */
  tag?: string;
  /** `sha256:<64 hex>` (or `sha512:<128 hex>`). */
  digest?: string;
}

export const DOCKER_HUB = "docker.io";
/** The host that actually serves Docker Hub's registry API. */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
const DEFAULT_TAG = "latest";
const MAX_NAME_LENGTH = 255;
const FIELD = "image.image";

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const HOST_LABEL = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(
  `^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?$`,
);
const BARE_ID = /^[a-f0-9]{64}$/;

/** True for a well-formed content digest this runtime can verify. */
export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

function invalid(image: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(FIELD, `invalid image reference "${image}": ${reason}`);
}

/** Whether the first path component is a registry host rather than a repository component. */
function looksLikeHost(first: string): boolean {
  return (
    first.includes(".") ||
    first.includes(":") ||
    first === "localhost" ||
    first !== first.toLowerCase()
  );
}

/**
 * Parses and normalises an image reference. Throws InvalidArgumentError("image.image", ...).
 * A reference with neither tag nor digest gets the tag `latest`.
 */
export function parseReference(image: string): ImageReference {
  if (image === "") throw invalid(image, "empty");
  if (/\s/.test(image)) throw invalid(image, "contains whitespace");
  if (BARE_ID.test(image))
    throw invalid(image, "a 64-character hex string is an image ID, not a name");

  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(image, `bad digest "${digest}"`);
  }

  // A tag is after the last ':' that follows the last '/' (a ':' before it is a port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(image, `bad tag "${tag}"`);
  }

  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  const first = parts[0] ?? "";
  if (parts.length > 1 && looksLikeHost(first)) {
    if (!DOMAIN.test(first)) throw invalid(image, `bad registry host "${first}"`);
    registry = first.toLowerCase();
    parts.shift();
  }
  if (registry === "index.docker.io" || registry === DOCKER_HUB_API_HOST) registry = DOCKER_HUB;
  for (const c of parts) {
    if (c === "") throw invalid(image, "empty path component");
    if (c !== c.toLowerCase()) throw invalid(image, "repository name must be lowercase");
    if (!COMPONENT.test(c)) throw invalid(image, `bad path component "${c}"`);
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    throw invalid(image, `name longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;

  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `registry/repository` — the fully qualified name without tag or digest. */
export function referenceName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full form `docker.io/library/busybox:latest[@sha256:...]`. */
export function formatReference(ref: ImageReference): string {
  let s = referenceName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The short form users type: `busybox:latest`, `user/app:1`, `127.0.0.1:5000/x@sha256:...`. */
export function familiarReference(ref: ImageReference): string {
  let name = referenceName(ref);
  if (ref.registry === DOCKER_HUB) {
    name =
      ref.repository.startsWith("library/") && ref.repository.split("/").length === 2
        ? ref.repository.slice("library/".length)
        : ref.repository;
  }
  let s = name;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The repoTags entry for this reference (`docker.io/library/busybox:latest`), if it has a tag. */
export function repoTag(ref: ImageReference): string | undefined {
  return ref.tag === undefined ? undefined : `${referenceName(ref)}:${ref.tag}`;
}

/** The repoDigests entry for a manifest digest pulled through this reference. */
export function repoDigest(ref: ImageReference, manifestDigest: string): string {
  return `${referenceName(ref)}@${manifestDigest}`;
}

/** The host serving the registry API for this reference's registry. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/** What to ask the registry's manifest endpoint for: the digest when pinned, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}
