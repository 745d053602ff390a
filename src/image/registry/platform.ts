// Choosing the manifest for this node from an index: os and architecture must match; the
// variant must be the node's or an older one it can run (arm64 v8 runs "v8" and ""; amd64 v3
// runs v3, v2, v1); `os.version` is ignored (it only matters on Windows).
import type { Descriptor, Platform } from "./manifest.js";

/** Architecture names as Go/OCI spell them, from Node's `process.arch`. */
const NODE_ARCH: Record<string, string> = {
  x64: "amd64",
  ia32: "386",
  arm64: "arm64",
  arm: "arm",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
};

const ARCH_ALIASES: Record<string, string> = {
  x86_64: "amd64",
  "x86-64": "amd64",
  aarch64: "arm64",
  armhf: "arm",
  armel: "arm",
  i386: "386",
};

/** Variant families, oldest first. A node runs its own variant and every older one. */
const VARIANT_ORDER: Record<string, string[]> = {
  amd64: ["v1", "v2", "v3", "v4"],
  arm64: [
    "v8",
    "v8.1",
    "v8.2",
    "v8.3",
    "v8.4",
    "v8.5",
    "v8.6",
    "v8.7",
    "v8.8",
    "v8.9",
    "v9",
    "v9.1",
    "v9.2",
    "v9.3",
    "v9.4",
    "v9.5",
  ],
  arm: ["v5", "v6", "v7", "v8"],
};

/** The variant assumed when none is given. */
const DEFAULT_VARIANT: Record<string, string> = { amd64: "v1", arm64: "v8", arm: "v7" };

/** Normalises os/architecture/variant spellings (`aarch64` → `arm64`, missing variant → default). */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  const architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (variant === "8" || variant === "7" || variant === "6" || variant === "5")
    variant = `v${variant}`;
  if (variant === undefined || variant === "") variant = DEFAULT_VARIANT[architecture];
  const out: Platform = { os, architecture };
  if (variant !== undefined) out.variant = variant;
  return out;
}

/** The platform of the running Node process (linux/amd64 on the usual host). */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  return normalizePlatform({ os: process.platform, architecture });
}

/**
 * How well an image platform suits the node: undefined when the node cannot run it, otherwise a
 * rank where higher is better (the node's own variant beats older ones).
 */
export function platformRank(node: Platform, image: Platform): number | undefined {
  const n = normalizePlatform(node);
  const i = normalizePlatform(image);
  if (n.os !== i.os || n.architecture !== i.architecture) return undefined;
  if (n.variant === i.variant) return 1000;
  const order = VARIANT_ORDER[n.architecture];
  if (!order || n.variant === undefined || i.variant === undefined) return undefined;
  const ni = order.indexOf(n.variant);
  const ii = order.indexOf(i.variant);
  if (ni < 0 || ii < 0 || ii > ni) return undefined;
  return ii;
}

/** The best manifest descriptor of an index for `node`, or undefined when none fits. */
export function selectPlatform(
  manifests: readonly Descriptor[],
  node: Platform,
): Descriptor | undefined {
  let best: Descriptor | undefined;
  let bestRank = -1;
  for (const d of manifests) {
    if (d.platform === undefined) continue;
    const rank = platformRank(node, d.platform);
    // Strictly greater: the first of equally good entries wins, as registries order them.
    if (rank !== undefined && rank > bestRank) {
      best = d;
      bestRank = rank;
    }
  }
  return best;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== "").join("/");
}
