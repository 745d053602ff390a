// Each configured runtime handler, probed exactly as berthd probes it at startup (a throwaway
// container), with its version and what it supports; FAIL only when no handler can run
// containers, since berth works with any one of them.
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BerthConfig } from "../../config/config.js";
import { type HandlerProbe, HandlerRegistry } from "../../runtime/handler-registry.js";
import { probeRuntimeHandler } from "../../runtime/probe.js";
import type { CommandRunner } from "../../util/command.js";
import { type CheckLine, fail, ok, warn } from "./report.js";

function yesNo(b: boolean): string {
  return b ? "yes" : "no";
}

export function runtimeLines(
  probes: readonly HandlerProbe[],
  configuredDefault: string,
): CheckLine[] {
  const registry = new HandlerRegistry(probes, configuredDefault);
  const lines = probes.map((p): CheckLine => {
    const item = `runtime ${p.name}`;
    const version = p.version || "version unknown";
    if (!p.ok) {
      return warn(
        item,
        `${p.path} (${version}) cannot run containers here: ${p.reason}`,
        `berth will not use "${p.name}"; fix the cause above or remove [runtimes.${p.name}]`,
      );
    }
    const features =
      `rro mounts: ${yesNo(p.features.recursiveReadOnlyMounts)}, ` +
      `user namespaces: ${yesNo(p.features.userNamespaces)}`;
    const isDefault = registry.defaultName === p.name ? ", the default handler" : "";
    return ok(item, `${p.path} (${version}) creates containers; ${features}${isDefault}`);
  });
  if (registry.defaultName === undefined) {
    lines.push(
      fail(
        "runtime handlers",
        "no configured handler can run containers on this host",
        "install runc (apt install runc) or crun, or fix the reasons above",
      ),
    );
  } else if (configuredDefault !== "" && registry.defaultName !== configuredDefault) {
    lines.push(
      warn(
        "default runtime",
        `"${configuredDefault}" cannot be used; pods without a handler get "${registry.defaultName}"`,
        `fix "${configuredDefault}" or set default_runtime = "${registry.defaultName}"`,
      ),
    );
  }
  return lines;
}

/** Probes every configured handler in a temporary directory and reports on them. */
export async function probeAndReport(
  config: BerthConfig,
  runner: CommandRunner,
): Promise<CheckLine[]> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-check-"));
  try {
    const probes = await Promise.all(
      Object.entries(config.runtimes).map(([name, h]) =>
        probeRuntimeHandler(
          { name, path: h.path, root: h.root || path.join(tmp, "runtimes", name) },
          runner,
          tmp,
          config.cgroup_driver,
          config.infra_init_path,
        ),
      ),
    );
    return runtimeLines(probes, config.default_runtime);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
