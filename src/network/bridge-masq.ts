// The bridge plugin's DEL learns the pod's addresses from the interface inside the netns; with
// the netns already gone (DEL with an empty CNI_NETNS, e.g. after a host-side cleanup or a
// berthd crash) it releases the IPs but leaves its ipMasq rules behind. berth removes those
// rules itself from the cached result: the plugin names them predictably (a chain "CNI-" + the
// first 24 hex digits of sha512(network name + container id), a POSTROUTING jump per address
// commented `name: "<net>" id: "<id>"`).
import { createHash } from "node:crypto";
import * as net from "node:net";
import type { CommandRunner } from "../util/command.js";
import { stripPrefix } from "./cni-result.js";
import type { NetworkConfigList } from "./cni-types.js";

export interface IptablesTools {
  iptables: string;
  ip6tables: string;
}

export const DEFAULT_IPTABLES_TOOLS: IptablesTools = {
  iptables: "iptables",
  ip6tables: "ip6tables",
};

/** The per-pod nat chain of the bridge plugin's ipMasq. */
export function masqChainName(networkName: string, containerId: string): string {
  const hash = createHash("sha512")
    .update(networkName + containerId)
    .digest("hex");
  return `CNI-${hash.slice(0, 24)}`;
}

export function masqComment(networkName: string, containerId: string): string {
  return `name: ${JSON.stringify(networkName)} id: ${JSON.stringify(containerId)}`;
}

/** True when the list has a bridge plugin with ipMasq on (whose rules berth may need to remove). */
export function usesBridgeMasq(list: NetworkConfigList): boolean {
  return list.plugins.some((p) => p.type === "bridge" && p["ipMasq"] === true);
}

/** The iptables argument lists that remove the masquerade of `ips` (pure; order matters). */
export function masqCleanupCommands(
  networkName: string,
  containerId: string,
  ips: readonly string[],
  tools: IptablesTools = DEFAULT_IPTABLES_TOOLS,
): { file: string; args: string[] }[] {
  const chain = masqChainName(networkName, containerId);
  const comment = masqComment(networkName, containerId);
  const out: { file: string; args: string[] }[] = [];
  const families = new Set<string>();
  for (const cidr of ips) {
    const ip = stripPrefix(cidr);
    const v6 = net.isIPv6(ip);
    if (!v6 && !net.isIPv4(ip)) continue;
    const file = v6 ? tools.ip6tables : tools.iptables;
    families.add(file);
    const source = `${ip}/${v6 ? 128 : 32}`;
    out.push({
      file,
      args: [
        "-w",
        "-t",
        "nat",
        "-D",
        "POSTROUTING",
        "-s",
        source,
        "-m",
        "comment",
        "--comment",
        comment,
        "-j",
        chain,
      ],
    });
  }
  for (const file of families) {
    out.push({ file, args: ["-w", "-t", "nat", "-F", chain] });
    out.push({ file, args: ["-w", "-t", "nat", "-X", chain] });
  }
  return out;
}

/** One argument as iptables-restore reads it: quoted, inner quotes escaped, when it has to be. */
function restoreArg(arg: string): string {
  return /^[^\s"\\]+$/.test(arg) ? arg : `"${arg.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** `cmds` (all of one family, all on the nat table) as one iptables-restore transaction. */
export function masqRestoreInput(cmds: readonly { args: string[] }[]): string {
  const lines = cmds.map((c) => {
    const args = c.args.filter((a, i) => a !== "-w" && !(a === "-t" || c.args[i - 1] === "-t"));
    return args.map(restoreArg).join(" ");
  });
  return ["*nat", ...lines, "COMMIT", ""].join("\n");
}

/**
 * Removes the ipMasq rules of a pod; rules that are already gone are fine. Returns the commands
 * that failed for another reason, for the caller to log. Per family, one iptables-restore
 * transaction does it all (one exec, ~10 ms, where each command is one); it fails whole when any
 * part is already gone (a repeat), and then the commands run one by one.
 */
export async function removeBridgeMasq(
  runner: CommandRunner,
  networkName: string,
  containerId: string,
  ips: readonly string[],
  tools: IptablesTools = DEFAULT_IPTABLES_TOOLS,
): Promise<string[]> {
  const failures: string[] = [];
  const cmds = masqCleanupCommands(networkName, containerId, ips, tools);
  for (const file of new Set(cmds.map((c) => c.file))) {
    const family = cmds.filter((c) => c.file === file);
    const restored = await runner.run(`${file}-restore`, ["-w", "--noflush"], {
      input: masqRestoreInput(family),
      timeoutMs: 30_000,
    });
    if (restored.code === 0) continue;
    for (const cmd of family) {
      const res = await runner.run(cmd.file, cmd.args, { timeoutMs: 30_000 });
      if (res.code === 0) continue;
      const stderr = res.stderr.toString("utf8");
      // "Bad rule" / "No chain/target/match by that name": nothing of ours left to remove.
      if (/does a matching rule exist|No chain\/target\/match|Bad rule|No such file/i.test(stderr))
        continue;
      failures.push(`${cmd.file} ${cmd.args.join(" ")}: ${stderr.trim()}`);
    }
  }
  return failures;
}
