// NetworkReady for Status: true once a usable CNI network exists — in the configured conf dir,
// or in berth's own dir where it writes its default network.
import type { BerthConfig } from "../config/config.js";
import type { NetworkReadiness } from "../cri/deps.js";
import { loadCniConfig } from "./cni-config.js";

export async function cniReadiness(config: BerthConfig): Promise<NetworkReadiness> {
  const dirs = [config.cni.conf_dir];
  if (config.cni.default_network) dirs.push(config.cni.default_conf_dir);
  const reasons: string[] = [];
  for (const dir of dirs) {
    const found = await loadCniConfig(dir, config.cni.plugin_dirs);
    if (found.ok) return { ready: true, reason: "", message: "" };
    reasons.push(found.reason);
  }
  return {
    ready: false,
    reason: "NetworkPluginNotReady",
    message: `Network plugin returns error: cni config uninitialized: ${reasons.join("; ")}`,
  };
}
