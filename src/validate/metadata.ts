// Names, uids, labels and annotations of pods and containers, bounded as Kubernetes bounds them
// (apimachinery's validation): a pod name is a DNS subdomain (≤ 253), a namespace a DNS label
// (≤ 63), annotations ≤ 256 KiB in all. Checked before any side effect: a 1 MB name used to
// reach CNI_ARGS (E2BIG) and a file name per pod.
import { InvalidArgumentError } from "../errors.js";
import { checkDnsIsh, checkNoNul, quote } from "./text.js";

export const MAX_NAME = 253;
export const MAX_NAMESPACE = 63;
/** Kubernetes uids are UUIDs (36); static pods' are hex hashes (32). */
export const MAX_UID = 128;
/** Kubernetes' TotalAnnotationSizeLimitB; applied to labels too, which Kubernetes bounds tighter. */
export const MAX_MAP_BYTES = 256 * 1024;

/** `prefix/name` as Kubernetes qualified names: prefix a DNS subdomain, name ≤ 63. */
const KEY_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const KEY_PREFIX = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export function checkPodMetadata(
  m: { name: string; namespace: string; uid: string } | null,
  field = "config.metadata",
): void {
  if (!m) throw new InvalidArgumentError(field, "required");
  checkDnsIsh(`${field}.name`, m.name, MAX_NAME);
  checkDnsIsh(`${field}.namespace`, m.namespace, MAX_NAMESPACE);
  checkDnsIsh(`${field}.uid`, m.uid, MAX_UID);
}

export function checkContainerMetadata(
  m: { name: string } | null,
  field = "config.metadata",
): void {
  if (!m) throw new InvalidArgumentError(field, "required");
  checkDnsIsh(`${field}.name`, m.name, MAX_NAME);
}

function checkKey(field: string, key: string): void {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (!KEY_NAME.test(name) || (prefix !== undefined && !KEY_PREFIX.test(prefix))) {
    throw new InvalidArgumentError(
      field,
      `key ${quote(key)} is not a qualified name ([prefix/]name, name ≤ 63 of letters, digits, '-', '.', '_')`,
    );
  }
}

/** Labels or annotations: qualified-name keys, no NULs, ≤ 256 KiB of keys and values. */
export function checkStringMap(field: string, map: Record<string, string>): void {
  let bytes = 0;
  for (const [k, v] of Object.entries(map)) {
    checkKey(field, k);
    checkNoNul(`${field}[${quote(k)}]`, v);
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    if (bytes > MAX_MAP_BYTES) {
      throw new InvalidArgumentError(field, `total size is over ${MAX_MAP_BYTES} bytes`);
    }
  }
}
