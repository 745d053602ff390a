// CNI: the plugins berth runs (loopback for every pod; bridge, host-local and portmap for its
// default network) and the network config berth would use, found the same way berthd finds it.
import type { BerthConfig } from "../../config/config.js";
import { loadCniConfig } from "../../network/cni-config.js";
import type { CommandRunner } from "../../util/command.js";
import { findCniPlugins } from "../version-command.js";
import { type CheckLine, fail, ok, warn } from "./report.js";

export async function cniPluginLines(
  config: BerthConfig,
  runner: CommandRunner,
): Promise<CheckLine[]> {
  const dirs = config.cni.plugin_dirs.join(":");
  const found = await findCniPlugins(config, runner);
  return found.map(({ name, file, version }): CheckLine => {
    const item = `cni plugin ${name}`;
    if (file !== undefined) return ok(item, `${file} (${version})`);
    const fix = "apt install containernetworking-plugins, or set cni.plugin_dirs";
    if (name === "loopback") return fail(item, `not found in ${dirs}: no pod can start`, fix);
    if (config.cni.default_network) {
      return fail(item, `not found in ${dirs}: berth's default network needs it`, fix);
    }
    return warn(item, `not found in ${dirs}; only needed by networks that use it`, fix);
  });
}

export async function cniConfigLine(config: BerthConfig): Promise<CheckLine> {
  const { cni } = config;
  const found = await loadCniConfig(cni.conf_dir, cni.plugin_dirs);
  if (found.ok) {
    const plugins = found.config.plugins.map((p) => p.type).join(", ");
    return ok("cni config", `would use ${found.file} (network "${found.config.name}": ${plugins})`);
  }
  if (cni.default_network) {
    return ok(
      "cni config",
      `${found.reason}; berth would write and use its own bridge network (${cni.bridge}, ` +
        `${cni.subnet}) in ${cni.default_conf_dir}`,
    );
  }
  return fail(
    "cni config",
    `${found.reason}, and cni.default_network is off: the node reports NetworkReady=false`,
    `put a network config in ${cni.conf_dir} or set cni.default_network = true`,
  );
}
