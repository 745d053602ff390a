// `berthd --version`: berth's own version and the CRI API it serves, then the versions of the
// programs it would drive with this configuration (runtime handlers, conmon, CNI plugins).
import type { BerthConfig } from "../config/config.js";
import { findPlugin } from "../network/cni-config.js";
import type { CommandRunner } from "../util/command.js";
import { BERTH_VERSION, CRI_API_VERSION } from "../version.js";
import { cniPluginVersions, programVersion } from "./tool-version.js";

/** The plugins berth's own network and every pod's loopback use. */
export const CNI_PLUGINS = ["bridge", "host-local", "loopback", "portmap"] as const;

async function versionOrWhy(runner: CommandRunner, file: string): Promise<string> {
  const v = await programVersion(runner, file);
  return v.ok ? v.version : `not usable: ${v.reason}`;
}

export interface PluginFound {
  name: string;
  /** Where it was found, or undefined. */
  file: string | undefined;
  /** Its version text when found. */
  version: string;
}

/** Each of CNI_PLUGINS: where it is and what version. */
export async function findCniPlugins(
  config: BerthConfig,
  runner: CommandRunner,
): Promise<PluginFound[]> {
  const files = await Promise.all(CNI_PLUGINS.map((n) => findPlugin(n, config.cni.plugin_dirs)));
  const present = files.filter((f): f is string => f !== undefined);
  const versions = await cniPluginVersions(runner, present);
  return CNI_PLUGINS.map((name, i) => {
    const file = files[i];
    const v = file === undefined ? "" : (versions[present.indexOf(file)] ?? "");
    return { name, file, version: v };
  });
}

async function cniPluginReport(config: BerthConfig, runner: CommandRunner): Promise<string[]> {
  const found = await findCniPlugins(config, runner);
  const dirs = config.cni.plugin_dirs.join(":");
  return found.map((p) =>
    p.file === undefined ? `not found in ${dirs}` : `${p.version} (${p.file})`,
  );
}

export async function versionReport(config: BerthConfig, runner: CommandRunner): Promise<string> {
  const lines = [`berth ${BERTH_VERSION}`, `CRI API runtime.${CRI_API_VERSION}`];
  const handlers = Object.entries(config.runtimes);
  const [runtimes, conmon, plugins] = await Promise.all([
    Promise.all(handlers.map(([, h]) => versionOrWhy(runner, h.path))),
    versionOrWhy(runner, config.conmon_path),
    cniPluginReport(config, runner),
  ]);
  handlers.forEach(([name, h], i) => lines.push(`runtime ${name}: ${runtimes[i]} (${h.path})`));
  lines.push(`conmon: ${conmon} (${config.conmon_path})`);
  CNI_PLUGINS.forEach((name, i) => lines.push(`cni ${name}: ${plugins[i]}`));
  return lines.join("\n") + "\n";
}
