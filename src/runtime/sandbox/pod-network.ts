// What CNI is told of a pod: its identity and netns, and for ADD (and the DEL that undoes it)
// the capabilities kubelet asked for (host ports, DNS).
import type { PodSandboxConfig__Output } from "../../gen/runtime/v1/PodSandboxConfig.js";
import { toCniPortMappings } from "../../network/cni-exec.js";
import type { PodNetworkRequest } from "../../network/cni-runner.js";

export function podNetworkRequest(
  cfg: PodSandboxConfig__Output,
  sandboxId: string,
  netnsPath: string,
): PodNetworkRequest {
  const meta = cfg.metadata;
  const dns = cfg.dns_config;
  return {
    podName: meta?.name ?? "",
    namespace: meta?.namespace ?? "",
    uid: meta?.uid ?? "",
    sandboxId,
    netnsPath,
    capabilities: {
      portMappings: toCniPortMappings(cfg.port_mappings),
      ...(dns
        ? { dns: { servers: dns.servers, searches: dns.searches, options: dns.options } }
        : {}),
    },
  };
}
