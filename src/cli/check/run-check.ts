// `berthd check`: the whole preflight report for one configuration, then the kubelet settings
// that go with it. Checks are independent and run at once; lines come out in a fixed order.
import type { BerthConfig } from "../../config/config.js";
import type { CommandRunner } from "../../util/command.js";
import { addressLines } from "./addresses.js";
import { cgroupLines } from "./cgroups.js";
import { cniConfigLine, cniPluginLines } from "./cni.js";
import { kernelLines } from "./kernel.js";
import { mountCallsLine } from "./mounts.js";
import { pathLines } from "./paths.js";
import { programLines } from "./programs.js";
import { type CheckLine, exitCode, fail, formatLine, ok, summary } from "./report.js";
import { probeAndReport } from "./runtimes.js";

export function privilegeLine(uid: number): CheckLine {
  return uid === 0
    ? ok("user", "root")
    : fail("user", `uid ${uid}: berthd creates namespaces, mounts and cgroups`, "run as root");
}

/** The KubeletConfiguration fields that point kubelet at this berth. */
export function kubeletLines(config: BerthConfig): string[] {
  const endpoint = `unix://${config.listen}`;
  return [
    "kubelet configuration (KubeletConfiguration, kubelet.config.k8s.io/v1beta1):",
    `  containerRuntimeEndpoint: ${endpoint}`,
    `  imageServiceEndpoint: ${endpoint}`,
    `  cgroupDriver: ${config.cgroup_driver}`,
  ];
}

export async function collectChecks(
  config: BerthConfig,
  runner: CommandRunner,
): Promise<CheckLine[]> {
  const groups = await Promise.all([
    Promise.resolve([privilegeLine(process.getuid?.() ?? -1)]),
    kernelLines(),
    cgroupLines(config),
    probeAndReport(config, runner),
    programLines(config, runner),
    Promise.resolve([mountCallsLine(runner)]),
    cniPluginLines(config, runner),
    cniConfigLine(config).then((l) => [l]),
    pathLines(config),
    addressLines(config),
  ]);
  return groups.flat();
}

export async function runCheck(
  config: BerthConfig,
  runner: CommandRunner,
): Promise<{ code: number; text: string }> {
  const lines = await collectChecks(config, runner);
  const text = [
    ...lines.map(formatLine),
    `${summary(lines)}${exitCode(lines) === 0 ? "" : ": berthd cannot run pods here until each FAIL is fixed"}`,
    "",
    ...kubeletLines(config),
  ].join("\n");
  return { code: exitCode(lines), text: text + "\n" };
}
