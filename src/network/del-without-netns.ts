// Which CNI networks berth may tear down after the pod's netns is gone. For a pod without an
// infra, StopPodSandbox releases the namespaces first when it can: the kernel then drops the
// pod's veth with the netns (~1 ms here), where the bridge plugin's own delete of the link waits
// out the kernel's synchronisation (its DEL took ~55 ms of a ~65 ms StopPodSandbox). CNI DEL then
// runs with an empty CNI_NETNS, as after a reboot. Only plugins whose DEL does all of its work
// outside the netns qualify, read in containernetworking/plugins; any other network keeps the
// usual order (DEL first, then the netns), as containerd and CRI-O run it.
import { type NetworkConfigList, type PluginConfig, isJsonObject } from "./cni-types.js";

/**
 * Chained plugins whose DEL needs nothing inside the netns: bridge releases the address (its
 * masquerade, which it would read from the link, berth removes itself: bridge-masq.ts), portmap
 * and bandwidth work on the host's iptables and devices, loopback has nothing to undo.
 */
const NETNS_FREE_DEL: ReadonlySet<string> = new Set(["bridge", "loopback", "portmap", "bandwidth"]);
/** IPAM plugins that release by container id alone (dhcp's release is sent from inside). */
const NETNS_FREE_IPAM: ReadonlySet<string> = new Set(["host-local", "static"]);

function pluginDelNeedsNoNetns(p: PluginConfig): boolean {
  if (!NETNS_FREE_DEL.has(p.type)) return false;
  const ipam = p["ipam"];
  if (ipam === undefined) return true;
  return (
    isJsonObject(ipam) && typeof ipam["type"] === "string" && NETNS_FREE_IPAM.has(ipam["type"])
  );
}

/** True when every plugin of `list` can do its DEL without the pod's netns. */
export function delNeedsNoNetns(list: NetworkConfigList): boolean {
  return list.plugins.length > 0 && list.plugins.every(pluginDelNeedsNoNetns);
}
