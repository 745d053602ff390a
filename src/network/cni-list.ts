// ADD, CHECK and DEL of one network configuration list, as libcni runs them: ADD runs the
// plugins in order, each given the previous plugin's result; CHECK runs them in order with the
// cached result; DEL runs them in reverse, with the cached result from CNI 0.4.0 on. A plugin
// with nothing to do for this pod (idle-plugins.ts) is not started; for ADD its result is the
// previous one.
import { InternalError } from "../errors.js";
import { type CniResult, parseCniResult } from "./cni-result.js";
import {
  type CapabilityArgs,
  type ExecPluginOptions,
  type PluginCall,
  buildPluginStdin,
  execPlugin,
} from "./cni-exec.js";
import { type JsonObject, type NetworkConfigList, supportsCheck } from "./cni-types.js";
import { isIdleCall } from "./idle-plugins.js";

export type ListCall = Omit<PluginCall, "command">;

export async function addNetworkList(
  exec: ExecPluginOptions,
  list: NetworkConfigList,
  call: ListCall,
  caps: CapabilityArgs,
): Promise<CniResult> {
  let prev: CniResult | undefined;
  for (const plugin of list.plugins) {
    const stdin = buildPluginStdin(list, plugin, caps, prev?.raw);
    if (isIdleCall(plugin.type, "ADD", stdin)) continue;
    const out = await execPlugin(exec, plugin.type, { ...call, command: "ADD" }, stdin);
    if (out === undefined) {
      throw new InternalError(
        `CNI plugin ${plugin.type} (network ${list.name}) ADD printed no result`,
      );
    }
    prev = parseCniResult(out, `${plugin.type} (network ${list.name})`);
  }
  if (prev === undefined) throw new InternalError(`network ${list.name} has no plugins`);
  return prev;
}

export async function checkNetworkList(
  exec: ExecPluginOptions,
  list: NetworkConfigList,
  call: ListCall,
  caps: CapabilityArgs,
  cachedResult: JsonObject,
): Promise<void> {
  for (const plugin of list.plugins) {
    const stdin = buildPluginStdin(list, plugin, caps, cachedResult);
    if (isIdleCall(plugin.type, "CHECK", stdin)) continue;
    await execPlugin(exec, plugin.type, { ...call, command: "CHECK" }, stdin);
  }
}

/** True when CHECK applies to `list` (CNI 0.4.0 or later and not disabled by the list). */
export function canCheck(list: NetworkConfigList): boolean {
  return supportsCheck(list.cniVersion) && !list.disableCheck;
}

export async function delNetworkList(
  exec: ExecPluginOptions,
  list: NetworkConfigList,
  call: ListCall,
  caps: CapabilityArgs,
  cachedResult: JsonObject | undefined,
): Promise<void> {
  const prev = supportsCheck(list.cniVersion) ? cachedResult : undefined;
  for (const plugin of [...list.plugins].reverse()) {
    const stdin = buildPluginStdin(list, plugin, caps, prev);
    if (isIdleCall(plugin.type, "DEL", stdin)) continue;
    await execPlugin(exec, plugin.type, { ...call, command: "DEL" }, stdin);
  }
}
