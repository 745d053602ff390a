// Pod networking through CNI: for each pod sandbox, the loopback plugin as a network of its own
// (interface `lo`, as containerd runs it) and the node's network (interface `eth0`). Each
// attachment is recorded in the result cache before its ADD runs and completed after, so that
// teardown works after a berthd restart, with a changed conf dir, and once the netns is gone.
import { promises as fs } from "node:fs";
import { FailedPreconditionError, InternalError, NotFoundError, errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import { KeyedMutex } from "../store/keyed-mutex.js";
import type { CommandRunner } from "../util/command.js";
import { settleAll } from "../util/settle-all.js";
import { type CachedAttachment, CniResultCache } from "./cni-cache.js";
import { type CniConfigLookup, loadCniConfigFromDirs } from "./cni-config.js";
import { CniConfigCache } from "./cni-config-cache.js";
import {
  type CapabilityArgs,
  type ExecPluginOptions,
  type PodIdentity,
  buildCniArgs,
} from "./cni-exec.js";
import {
  type ListCall,
  addNetworkList,
  canCheck,
  checkNetworkList,
  delNetworkList,
} from "./cni-list.js";
import {
  type CniDns,
  type CniInterface,
  type CniResult,
  parseCniResult,
  podIps,
} from "./cni-result.js";
import type { JsonObject, NetworkConfigList } from "./cni-types.js";
import { type IptablesTools, removeBridgeMasq, usesBridgeMasq } from "./bridge-masq.js";
import { delNeedsNoNetns } from "./del-without-netns.js";

export type CniOperation = "setup" | "teardown" | "check";

export interface CniRunnerOptions {
  runner: CommandRunner;
  logger: Logger;
  /** Searched in order for the first usable config (e.g. cni.conf_dir, then berth's default dir). */
  confDirs: readonly string[];
  pluginDirs: readonly string[];
  /** Result cache, `<state>/cni/results`. */
  cacheDir: string;
  /** Environment the plugins inherit (PATH for iptables); default process.env. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Per plugin call; default 120 s. */
  pluginTimeoutMs?: number;
  /** Run the loopback plugin as its own network for every pod (default true). */
  loopback?: boolean;
  /** iptables binaries for the masquerade cleanup of DEL without a netns. */
  iptables?: IptablesTools;
  /** Called once per setup/teardown/check with its duration and its error, if any. */
  observe?: (op: CniOperation, seconds: number, error?: unknown) => void;
}

export interface PodNetworkRequest extends PodIdentity {
  /** The pod's netns file; empty or missing on teardown is allowed. */
  netnsPath: string;
  capabilities?: CapabilityArgs;
}

export interface PodNetworkStatus {
  /** Primary first: IPv4 addresses, then IPv6, without prefix length. */
  ips: string[];
  interfaces: CniInterface[];
  dns: CniDns;
  result: CniResult;
}

export type NetworkReadiness = { ready: true; file: string } | { ready: false; reason: string };

export const POD_IFNAME = "eth0";
export const LOOPBACK_IFNAME = "lo";

/** The loopback network berth runs for every pod, as containerd does. */
export function loopbackNetwork(): NetworkConfigList {
  return {
    cniVersion: "0.3.1",
    name: "cni-loopback",
    disableCheck: true,
    plugins: [{ type: "loopback" }],
  };
}

function statusOf(result: CniResult): PodNetworkStatus {
  return { ips: podIps(result), interfaces: result.interfaces, dns: result.dns, result };
}

async function exists(p: string): Promise<boolean> {
  if (p === "") return false;
  try {
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}

export class CniRunner {
  private readonly cache: CniResultCache;
  /** Operations on one sandbox run one after another; different sandboxes in parallel. */
  private readonly locks = new KeyedMutex();

  /** The config CNI ADD uses, read again only when its files change (Status reads it afresh). */
  private readonly configs: CniConfigCache;

  constructor(private readonly opts: CniRunnerOptions) {
    this.cache = new CniResultCache(opts.cacheDir);
    this.configs = new CniConfigCache(opts.confDirs, opts.pluginDirs);
  }

  /** The config lookup behind Status' NetworkReady condition. */
  loadConfig(): Promise<CniConfigLookup> {
    return loadCniConfigFromDirs(this.opts.confDirs, this.opts.pluginDirs);
  }

  async readiness(): Promise<NetworkReadiness> {
    const found = await this.loadConfig();
    return found.ok ? { ready: true, file: found.file } : { ready: false, reason: found.reason };
  }

  /** Sandbox ids with a cached attachment: pods whose network may still need a teardown. */
  attachedSandboxIds(): Promise<string[]> {
    return this.cache.containerIds();
  }

  setupPodNetwork(req: PodNetworkRequest): Promise<PodNetworkStatus> {
    return this.observed("setup", () => this.locks.run(req.sandboxId, () => this.setup(req)));
  }

  /** Idempotent: a pod with nothing attached (already torn down) succeeds without running plugins. */
  teardownPodNetwork(req: PodNetworkRequest): Promise<void> {
    return this.observed("teardown", () => this.locks.run(req.sandboxId, () => this.teardown(req)));
  }

  /**
   * Whether the pod's networks can be torn down after its netns is gone (del-without-netns.ts):
   * every attachment's cached config qualifies. An unreadable entry says no.
   */
  async deletesWithoutNetns(sandboxId: string): Promise<boolean> {
    try {
      const entries = await Promise.all(
        [POD_IFNAME, LOOPBACK_IFNAME].map((ifName) => this.cache.load(sandboxId, ifName)),
      );
      return entries.every((e) => e === undefined || delNeedsNoNetns(e.config));
    } catch {
      return false;
    }
  }

  checkPodNetwork(req: PodNetworkRequest): Promise<void> {
    return this.observed("check", () => this.locks.run(req.sandboxId, () => this.check(req)));
  }

  private execOptions(networkName: string): ExecPluginOptions {
    return {
      runner: this.opts.runner,
      baseEnv: this.opts.baseEnv ?? process.env,
      timeoutMs: this.opts.pluginTimeoutMs ?? 120_000,
      networkName,
    };
  }

  private listCall(containerId: string, netns: string, ifName: string, cniArgs: string): ListCall {
    return { containerId, netns, ifName, cniArgs, pluginDirs: this.opts.pluginDirs };
  }

  private async setup(req: PodNetworkRequest): Promise<PodNetworkStatus> {
    const found = await this.configs.lookup();
    if (!found.ok) throw new FailedPreconditionError(`network not ready: ${found.reason}`);
    if (!(await exists(req.netnsPath))) {
      throw new FailedPreconditionError(
        `network namespace ${JSON.stringify(req.netnsPath)} does not exist`,
      );
    }
    const cniArgs = buildCniArgs(req);
    const caps = req.capabilities ?? {};
    const previous = await this.completedAttachment(req);
    if (previous !== undefined) return statusOf(previous);
    try {
      // lo and eth0 are separate interfaces with separate cache entries, and neither chain reads
      // what the other makes: both ADDs run at once (settleAll lets both finish before a
      // failure tears them down).
      const [main] = await settleAll([
        this.attach(req, found.config, POD_IFNAME, cniArgs, caps),
        (this.opts.loopback ?? true)
          ? this.attach(req, loopbackNetwork(), LOOPBACK_IFNAME, cniArgs, {})
          : Promise.resolve(undefined),
      ]);
      return statusOf(main);
    } catch (err) {
      this.opts.logger.warn(
        { sandboxId: req.sandboxId, err: errorMessage(err) },
        "CNI ADD failed; removing what was attached",
      );
      await this.detachAll(req, [POD_IFNAME, LOOPBACK_IFNAME]).catch((cleanupErr: unknown) => {
        this.opts.logger.error(
          { sandboxId: req.sandboxId, err: errorMessage(cleanupErr) },
          "CNI DEL after a failed ADD failed too",
        );
      });
      throw err;
    }
  }

  /**
   * A finished earlier setup of this sandbox in the same netns (a retried RunPodSandbox): its
   * result is returned rather than running ADD again, which would take a second address. An
   * unfinished or different one is torn down first.
   */
  private async completedAttachment(req: PodNetworkRequest): Promise<CniResult | undefined> {
    let entry: CachedAttachment | undefined;
    try {
      entry = await this.cache.load(req.sandboxId, POD_IFNAME);
    } catch {
      entry = undefined;
    }
    if (entry?.result !== undefined && entry.netnsPath === req.netnsPath) {
      return parseCniResult(entry.result, `cached result of ${entry.config.name}`);
    }
    await this.detachAll(req, [POD_IFNAME, LOOPBACK_IFNAME]);
    return undefined;
  }

  /** ADD of one network; the cache entry is written before (for a crash mid-ADD) and after. */
  private async attach(
    req: PodNetworkRequest,
    list: NetworkConfigList,
    ifName: string,
    cniArgs: string,
    caps: CapabilityArgs,
  ): Promise<CniResult> {
    const entry: CachedAttachment = {
      version: 1,
      containerId: req.sandboxId,
      ifName,
      netnsPath: req.netnsPath,
      cniArgs,
      capabilityArgs: caps,
      config: list,
    };
    // Not fsynced: it is for a crash of berthd mid-ADD, and the page cache outlives that. What
    // ADD makes (netns, veth, rules) does not outlive a power loss, and host-local writes its
    // reservation without an fsync either; the entry with the result is fsynced below.
    await this.cache.save(entry, { durable: false });
    const call = this.listCall(req.sandboxId, req.netnsPath, ifName, cniArgs);
    const parsed = await addNetworkList(this.execOptions(list.name), list, call, caps);
    await this.cache.save({ ...entry, result: parsed.raw });
    return parsed;
  }

  private async teardown(req: PodNetworkRequest): Promise<void> {
    await this.detachAll(req, [POD_IFNAME, LOOPBACK_IFNAME]);
  }

  /**
   * DEL of every interface, all at once (independent chains, as their ADDs are); the first
   * failure in `ifNames` order is thrown after every DEL has finished.
   */
  private async detachAll(req: PodNetworkRequest, ifNames: readonly string[]): Promise<void> {
    const results = await Promise.allSettled(ifNames.map((ifName) => this.detach(req, ifName)));
    let firstError: unknown;
    for (const r of results) if (r.status === "rejected") firstError ??= r.reason;
    if (firstError instanceof Error) throw firstError;
    if (firstError !== undefined) throw new InternalError(errorMessage(firstError));
  }

  private async detach(req: PodNetworkRequest, ifName: string): Promise<void> {
    let entry: CachedAttachment | undefined;
    try {
      entry = await this.cache.load(req.sandboxId, ifName);
    } catch (err) {
      // An unreadable entry still says something was attached: DEL with what we know now.
      this.opts.logger.warn(
        { sandboxId: req.sandboxId, err: errorMessage(err) },
        "CNI cache unreadable",
      );
      entry = await this.fallbackEntry(req, ifName);
    }
    if (entry === undefined) return;
    // DEL with an empty CNI_NETNS when the namespace is gone, as the spec allows.
    const netnsPath = req.netnsPath !== "" ? req.netnsPath : entry.netnsPath;
    const netns = (await exists(netnsPath)) ? netnsPath : "";
    const call = this.listCall(req.sandboxId, netns, ifName, entry.cniArgs);
    await delNetworkList(
      this.execOptions(entry.config.name),
      entry.config,
      call,
      entry.capabilityArgs,
      entry.result,
    );
    if (netns === "" && entry.result !== undefined && usesBridgeMasq(entry.config)) {
      await this.removeMasquerade(entry, entry.result);
    }
    await this.cache.remove(req.sandboxId, ifName);
  }

  private async removeMasquerade(entry: CachedAttachment, result: JsonObject): Promise<void> {
    let ips: string[];
    try {
      ips = parseCniResult(result, "cached result").ips.map((ip) => ip.address);
    } catch {
      return;
    }
    const failures = await removeBridgeMasq(
      this.opts.runner,
      entry.config.name,
      entry.containerId,
      ips,
      this.opts.iptables,
    );
    for (const f of failures) {
      this.opts.logger.warn(
        { sandboxId: entry.containerId, err: f },
        "cannot remove masquerade rule",
      );
    }
  }

  private async fallbackEntry(
    req: PodNetworkRequest,
    ifName: string,
  ): Promise<CachedAttachment | undefined> {
    let config: NetworkConfigList | undefined;
    if (ifName === LOOPBACK_IFNAME) config = loopbackNetwork();
    else {
      const found = await this.loadConfig();
      if (found.ok) config = found.config;
    }
    if (config === undefined) {
      this.opts.logger.warn(
        { sandboxId: req.sandboxId, ifName },
        "no CNI config to run DEL with; skipped",
      );
      await this.cache.remove(req.sandboxId, ifName);
      return undefined;
    }
    return {
      version: 1,
      containerId: req.sandboxId,
      ifName,
      netnsPath: req.netnsPath,
      cniArgs: buildCniArgs(req),
      capabilityArgs: req.capabilities ?? {},
      config,
    };
  }

  private async check(req: PodNetworkRequest): Promise<void> {
    const entry = await this.cache.load(req.sandboxId, POD_IFNAME);
    if (entry?.result === undefined) {
      throw new NotFoundError(`pod sandbox ${req.sandboxId} has no network attachment`);
    }
    if (!canCheck(entry.config)) return;
    const netnsPath = req.netnsPath !== "" ? req.netnsPath : entry.netnsPath;
    if (!(await exists(netnsPath))) {
      throw new FailedPreconditionError(
        `network namespace ${JSON.stringify(netnsPath)} does not exist`,
      );
    }
    const call = this.listCall(req.sandboxId, netnsPath, POD_IFNAME, entry.cniArgs);
    await checkNetworkList(
      this.execOptions(entry.config.name),
      entry.config,
      call,
      entry.capabilityArgs,
      entry.result,
    );
  }

  private async observed<T>(op: CniOperation, fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - start) / 1e9;
    try {
      const value = await fn();
      this.opts.observe?.(op, seconds());
      return value;
    } catch (err) {
      this.opts.observe?.(op, seconds(), err);
      throw err;
    }
  }
}
