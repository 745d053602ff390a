// Linux namespaces per CRI NamespaceOption. The sandbox creates the pod's namespaces (or uses
// the host's for NODE); containers join the sandbox's.
import { InvalidArgumentError } from "../../errors.js";
import type { NamespaceOption__Output } from "../../gen/runtime/v1/NamespaceOption.js";
import type { SandboxInfo, SandboxNamespacePaths } from "./context.js";
import type { OciNamespace } from "./oci-types.js";

/** proto3 defaults: an absent NamespaceOption means POD for everything. */
export function namespaceOptions(ns: NamespaceOption__Output | null): NamespaceOption__Output {
  return ns ?? { network: "POD", pid: "POD", ipc: "POD", target_id: "", userns_options: null };
}

function rejectUserNamespaces(ns: NamespaceOption__Output, field: string): void {
  const u = ns.userns_options;
  if (u === null || u.mode === "NODE") return;
  if (u.mode === "POD" && u.uids.length === 0 && u.gids.length === 0) return;
  throw new InvalidArgumentError(
    `${field}.namespace_options.userns_options`,
    "user namespaces are not supported",
  );
}

/**
 * Network, IPC and UTS come from the sandbox unless NODE (UTS follows the network mode, as
 * kubelet's hostNetwork means the host's hostname). PID: POD joins the sandbox's, CONTAINER gets
 * a new one, NODE keeps the host's, TARGET joins `targetPid`'s.
 */
export function containerNamespaces(
  options: NamespaceOption__Output | null,
  sandbox: SandboxInfo,
  targetPid: number | undefined,
  privateCgroup: boolean,
  field: string,
): OciNamespace[] {
  const ns = namespaceOptions(options);
  rejectUserNamespaces(ns, field);
  const paths: SandboxNamespacePaths = sandbox.namespacePaths;
  // The sandbox's namespace of a kind: its pinned file, else its infra's. A pod without an infra
  // pinned every namespace it has; one it lacks is the pod's own choice (kubelet derives the
  // pod's and the containers' options from one spec): the host's for network/IPC, and no
  // shared PID namespace, so the container gets one of its own, as it would have otherwise.
  const podNs = (kind: "net" | "uts" | "ipc" | "pid"): string | undefined =>
    paths[kind] ?? (sandbox.pid > 0 ? `/proc/${sandbox.pid}/ns/${kind}` : undefined);
  const join = (type: OciNamespace["type"], nsPath: string | undefined): void => {
    if (nsPath !== undefined) out.push({ type, path: nsPath });
  };
  const out: OciNamespace[] = [{ type: "mount" }];
  if (ns.network !== "NODE") {
    join("network", podNs("net"));
    join("uts", podNs("uts"));
  }
  if (ns.ipc !== "NODE") join("ipc", podNs("ipc"));
  switch (ns.pid) {
    case "POD": {
      const pid = podNs("pid");
      out.push(pid !== undefined ? { type: "pid", path: pid } : { type: "pid" });
      break;
    }
    case "CONTAINER":
      out.push({ type: "pid" });
      break;
    case "TARGET":
      if (targetPid === undefined) {
        throw new InvalidArgumentError(
          `${field}.namespace_options.target_id`,
          `target container "${ns.target_id}" is not running`,
        );
      }
      out.push({ type: "pid", path: `/proc/${targetPid}/ns/pid` });
      break;
    case "NODE":
      break;
  }
  if (privateCgroup) out.push({ type: "cgroup" });
  return out;
}

/** The sandbox's own namespaces: new ones, a given path to join, or none for NODE. */
export function sandboxNamespaces(
  options: NamespaceOption__Output | null,
  paths: SandboxNamespacePaths,
  privateCgroup: boolean,
  field: string,
): OciNamespace[] {
  const ns = namespaceOptions(options);
  rejectUserNamespaces(ns, field);
  if (ns.pid === "TARGET") {
    throw new InvalidArgumentError(`${field}.namespace_options.pid`, "TARGET is for containers");
  }
  const join = (type: OciNamespace["type"], path: string | undefined): OciNamespace =>
    path === undefined ? { type } : { type, path };
  const out: OciNamespace[] = [{ type: "mount" }];
  if (ns.network !== "NODE") {
    out.push(join("network", paths.net));
    out.push(join("uts", paths.uts));
  }
  if (ns.ipc !== "NODE") out.push(join("ipc", paths.ipc));
  if (ns.pid !== "NODE") out.push(join("pid", paths.pid));
  if (privateCgroup) out.push({ type: "cgroup" });
  return out;
}

/** True when the sandbox has a UTS namespace of its own (so a hostname can be set). */
export function sandboxHasUts(options: NamespaceOption__Output | null): boolean {
  return namespaceOptions(options).network !== "NODE";
}
