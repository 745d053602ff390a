// berth's own network, written when the node has no CNI config: a Linux bridge with host-local
// addresses and masquerading, plus portmap for hostPorts. Loopback is not part of it: berth runs
// the loopback plugin as a network of its own for every pod, as containerd does.
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { InvalidArgumentError, isErrno } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import { listConfigFiles } from "./cni-config.js";
import type { NetworkConfigList, PluginConfig } from "./cni-types.js";

export const DEFAULT_CONFLIST_FILE = "10-berth.conflist";
export const DEFAULT_NETWORK_NAME = "berth";

export interface DefaultConflistOptions {
  /** Bridge device name (`cni.bridge`). */
  bridge: string;
  /** Pod subnet(s) (`cni.subnet`), one CIDR or a comma-separated IPv4,IPv6 pair. */
  subnet: string;
  /** kubelet's pod CIDR from UpdateRuntimeConfig; replaces `subnet` when set. */
  podCidr?: string;
  /** host-local's reservation dir; unset = the plugin's default /var/lib/cni/networks. */
  ipamDataDir?: string;
  networkName?: string;
}

interface Cidr {
  family: 4 | 6;
  cidr: string;
}

// Linux limits interface names to 15 bytes.
const IFNAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;

/** Parses "a.b.c.d/n" or "x::y/n"; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  const family = net.isIPv4(addr) ? 4 : net.isIPv6(addr) ? 6 : undefined;
  if (family === undefined) return undefined;
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return { family, cidr: `${addr}/${prefix}` };
}

function parseSubnets(text: string, field: string): Cidr[] {
  const parts = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (parts.length === 0) throw new InvalidArgumentError(field, "no subnet given");
  const out: Cidr[] = [];
  for (const p of parts) {
    const c = parseCidr(p);
    if (c === undefined)
      throw new InvalidArgumentError(field, `${JSON.stringify(p)} is not a CIDR`);
    if (out.some((o) => o.family === c.family)) {
      throw new InvalidArgumentError(
        field,
        `more than one IPv${c.family} subnet in ${JSON.stringify(text)}`,
      );
    }
    out.push(c);
  }
  return out.sort((a, b) => a.family - b.family);
}

/** The default network as a config list (pure). Throws InvalidArgumentError on a bad subnet. */
export function buildDefaultConflist(opts: DefaultConflistOptions): NetworkConfigList {
  if (!IFNAME.test(opts.bridge)) {
    throw new InvalidArgumentError(
      "cni.bridge",
      `${JSON.stringify(opts.bridge)} is not an interface name`,
    );
  }
  const usePodCidr = opts.podCidr !== undefined && opts.podCidr.trim() !== "";
  const subnets = usePodCidr
    ? parseSubnets(opts.podCidr ?? "", "runtime_config.network_config.pod_cidr")
    : parseSubnets(opts.subnet, "cni.subnet");
  const ipam: PluginConfig = {
    type: "host-local",
    ranges: subnets.map((s) => [{ subnet: s.cidr }]),
    routes: subnets.map((s) => ({ dst: s.family === 4 ? "0.0.0.0/0" : "::/0" })),
  };
  if (opts.ipamDataDir !== undefined && opts.ipamDataDir !== "") ipam["dataDir"] = opts.ipamDataDir;
  return {
    cniVersion: "1.0.0",
    name: opts.networkName ?? DEFAULT_NETWORK_NAME,
    disableCheck: false,
    plugins: [
      {
        type: "bridge",
        bridge: opts.bridge,
        isGateway: true,
        // A new pod CIDR from kubelet moves the bridge's gateway address instead of failing
        // every later ADD on a bridge that kept the old one.
        forceAddress: true,
        ipMasq: true,
        hairpinMode: true,
        ipam,
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
    ],
  };
}

/** The file text of a config list. */
export function renderConflist(list: NetworkConfigList): string {
  return JSON.stringify(list, null, 2) + "\n";
}

export interface WriteDefaultResult {
  file: string;
  /** False when the dir already had another config, or ours with the same content. */
  written: boolean;
}

/**
 * Writes berth's default conflist into `dir` when `dir` holds no other CNI config. berth's own
 * file is rewritten when its content would change (a new pod CIDR); anyone else's file wins.
 */
export async function writeDefaultConflist(
  dir: string,
  opts: DefaultConflistOptions,
): Promise<WriteDefaultResult> {
  const text = renderConflist(buildDefaultConflist(opts));
  const file = path.join(dir, DEFAULT_CONFLIST_FILE);
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const others = (await listConfigFiles(dir)).filter((f) => f !== file);
  if (others.length > 0) return { file, written: false };
  let current: string | undefined;
  try {
    current = await fs.readFile(file, "utf8");
  } catch (err) {
    if (!isErrno(err, "ENOENT")) throw err;
  }
  if (current === text) return { file, written: false };
  await writeFileAtomic(file, text, 0o644);
  return { file, written: true };
}
