// Pod sysctls. Only namespaced ones may be set, and only in namespaces the pod owns: anything
// else would change the host. Values are checked too: runc writes them to /proc/sys verbatim, and
// CVE-2022-0811 smuggled a second "key=value" pair through a value containing '+'.
import { InvalidArgumentError } from "../../errors.js";
import { quote } from "../../validate/text.js";
import type { NamespaceOption__Output } from "../../gen/runtime/v1/NamespaceOption.js";
import { namespaceOptions } from "./namespaces.js";

const IPC_PREFIXES = ["kernel.shm", "kernel.msg", "fs.mqueue."];

/** kubelet accepts "net/ipv4/ip_forward" as well as "net.ipv4.ip_forward". */
function dotted(name: string): string {
  return name.includes("/") && !name.includes(".") ? name.replaceAll("/", ".") : name;
}

function isIpcSysctl(name: string): boolean {
  return name === "kernel.sem" || IPC_PREFIXES.some((p) => name.startsWith(p));
}

/** Returns the sysctls to put in linux.sysctl, or throws naming the first one refused. */
export function validateSysctls(
  sysctls: Readonly<Record<string, string>>,
  nsOptions: NamespaceOption__Output | null,
): Record<string, string> {
  const ns = namespaceOptions(nsOptions);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(sysctls)) {
    const field = `config.linux.sysctls[${quote(name)}]`;
    const key = dotted(name);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/.test(name) || key.includes("..")) {
      throw new InvalidArgumentError(field, "invalid sysctl name");
    }
    if (value.includes("+") || value.includes("=")) {
      throw new InvalidArgumentError(field, "sysctl values may not contain '+' or '='");
    }
    if (isIpcSysctl(key)) {
      if (ns.ipc === "NODE") {
        throw new InvalidArgumentError(
          field,
          "IPC sysctls cannot be set with the host's IPC namespace",
        );
      }
    } else if (key.startsWith("net.")) {
      if (ns.network === "NODE") {
        throw new InvalidArgumentError(
          field,
          "net.* sysctls cannot be set with the host's network",
        );
      }
    } else {
      throw new InvalidArgumentError(field, "not a namespaced sysctl; it would change the host");
    }
    out[name] = value;
  }
  return out;
}
