// OCI chain IDs name a stack of layers: chainID(L1) = diffID(L1) and
// chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). A snapshot is keyed by its chain ID,
// so images sharing a base share its snapshots.
import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../../errors.js";

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isSha256Digest(value: string): boolean {
  return DIGEST.test(value);
}

/** The chain ID of a layer whose parent stack has `parent` (null for the bottom layer). */
export function chainIdOf(parent: string | null, diffId: string): string {
  if (!isSha256Digest(diffId))
    throw new InvalidArgumentError("diff_id", `not a sha256 digest: ${diffId}`);
  if (parent === null) return diffId;
  if (!isSha256Digest(parent))
    throw new InvalidArgumentError("chain_id", `not a sha256 digest: ${parent}`);
  return "sha256:" + createHash("sha256").update(`${parent} ${diffId}`).digest("hex");
}

/** The chain IDs of every prefix of `diffIds` (bottom layer first), e.g. from rootfs.diff_ids. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  let parent: string | null = null;
  for (const d of diffIds) {
    parent = chainIdOf(parent, d);
    out.push(parent);
  }
  return out;
}
