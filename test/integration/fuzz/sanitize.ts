// What keeps a fuzz request inside the test's own sandbox: it may be as malformed as it likes,
// but a well-formed one must not pull from the internet, remove the test's fixtures, create
// host directories or cgroups outside the test's own, or open host ports. Relative and
// otherwise invalid values pass unchanged: berth must refuse those itself.
import { MARK } from "./hostile-values.js";

export interface SandboxRules {
  /** `127.0.0.1:PORT`: every image reference is forced onto the local registry. */
  registryHost: string;
  /** The image the fixtures run; RemoveImage must leave it. */
  fixtureImage: string;
  /** Ids a destructive RPC must not name (nor any prefix of them). */
  protectedIds: readonly string[];
  /** A temp dir for absolute host paths and log directories. */
  hostDir: string;
  /** A cgroup parent (`/fzq-cg-<seed>`) absolute cgroup parents are moved below. */
  cgroupRoot: string;
}

const DESTRUCTIVE = new Set([
  "StopPodSandbox",
  "RemovePodSandbox",
  "StopContainer",
  "RemoveContainer",
]);

function withoutDotDot(p: string): string {
  return p
    .split("/")
    .filter((c) => c !== "..")
    .join("/");
}

export function sanitize(method: string, req: Record<string, unknown>, rules: SandboxRules): void {
  const image = req["image"] as { image?: unknown } | undefined;
  if ((method === "PullImage" || method === "RemoveImage") && image && typeof image === "object") {
    const name = typeof image.image === "string" ? image.image : "";
    if (
      method === "RemoveImage" &&
      (name === rules.fixtureImage || rules.fixtureImage.startsWith(name))
    ) {
      image.image = `${rules.registryHost}/${MARK}-none:1`;
    } else if (!name.startsWith(`${rules.registryHost}/`)) {
      image.image = `${rules.registryHost}/${name}`;
    }
  }
  if (DESTRUCTIVE.has(method)) {
    for (const key of ["pod_sandbox_id", "container_id"]) {
      const v = req[key];
      if (typeof v !== "string" || rules.protectedIds.some((id) => id.startsWith(v))) {
        req[key] = `${MARK}-nope`;
      }
    }
  }
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(visit);
      return;
    }
    if (typeof v !== "object" || v === null || Buffer.isBuffer(v)) return;
    const o = v as Record<string, unknown>;
    for (const [k, item] of Object.entries(o)) {
      if (typeof item === "string" && item.startsWith("/")) {
        if (k === "host_path" && !("permissions" in o)) o[k] = rules.hostDir + withoutDotDot(item);
        if (k === "log_directory" || k === "location") o[k] = rules.hostDir + withoutDotDot(item);
        if (k === "cgroup_parent" && !item.startsWith(`${rules.cgroupRoot}/`)) {
          o[k] = rules.cgroupRoot + withoutDotDot(item);
        }
      }
      if (k === "host_port" && typeof item === "number" && item >= 1 && item <= 65535) o[k] = 0;
      visit(item);
    }
  };
  visit(req);
}
