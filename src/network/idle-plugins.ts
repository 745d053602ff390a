// Chained plugins with nothing to do for a pod that does not use their capability. berth does
// not start them for such a pod: each is a Go program of a few milliseconds' start, on the path
// of every RunPodSandbox and StopPodSandbox.
//
// portmap (containernetworking/plugins) with no `portMappings` in its runtimeConfig prints its
// prevResult back for ADD and does nothing for CHECK and DEL; a pod without host ports (most
// of them) gets no rules from it.
import type { CniCommand } from "./cni-exec.js";
import { type JsonObject, isJsonObject } from "./cni-types.js";

function hasPortMappings(stdin: JsonObject): boolean {
  const rc = stdin["runtimeConfig"];
  const mappings = isJsonObject(rc) ? rc["portMappings"] : undefined;
  return Array.isArray(mappings) && mappings.length > 0;
}

/**
 * True when plugin `type` called with `stdin` would do nothing: for ADD, print `stdin`'s
 * prevResult unchanged (so it must have one, in the list's own version: portmap converts it
 * otherwise); for CHECK, with a prevResult; for DEL, always.
 */
export function isIdleCall(type: string, command: CniCommand, stdin: JsonObject): boolean {
  if (type !== "portmap" || hasPortMappings(stdin)) return false;
  if (command === "DEL") return true;
  if (command !== "ADD" && command !== "CHECK") return false;
  const prev = stdin["prevResult"];
  return isJsonObject(prev) && prev["cniVersion"] === stdin["cniVersion"];
}
