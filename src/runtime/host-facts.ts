// Facts about this host that shape every spec: the capabilities berth holds, the lowest
// oom_score_adj it may set (without CAP_SYS_RESOURCE it cannot go below its own), AppArmor and
// SELinux presence, and where the cgroup hierarchies are.
import { promises as fs } from "node:fs";
import { loadCgroupSetup } from "../cgroup/detect-setup.js";
import type { CgroupSetup } from "../cgroup/index.js";
import { capabilitiesFromMask } from "./spec/capabilities.js";
import type { HostFeatures } from "./spec/context.js";

export interface HostFacts {
  allCapabilities: string[];
  oomScoreAdjMin: number;
  features: HostFeatures;
  cgroups: CgroupSetup;
}

const CAP_SYS_RESOURCE = 24n;

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

async function readTrimmed(p: string): Promise<string | undefined> {
  return fs.readFile(p, "utf8").then(
    (s) => s.trim(),
    () => undefined,
  );
}

export function statusField(status: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:\\s*(\\S+)`, "m").exec(status);
  return m?.[1];
}

export async function readHostFacts(): Promise<HostFacts> {
  const status = await fs.readFile("/proc/self/status", "utf8");
  const capEff = BigInt(`0x${statusField(status, "CapEff") ?? "0"}`);
  const capBnd = statusField(status, "CapBnd") ?? "0";
  const ownAdj = Number((await fs.readFile("/proc/self/oom_score_adj", "utf8")).trim());
  const hasSysResource = ((capEff >> CAP_SYS_RESOURCE) & 1n) === 1n;
  const cgroups = await loadCgroupSetup();
  return {
    allCapabilities: capabilitiesFromMask(capBnd),
    oomScoreAdjMin: hasSysResource ? -1000 : Math.max(ownAdj, -1000),
    features: {
      apparmor: await exists("/sys/kernel/security/apparmor/profiles"),
      selinux: await exists("/sys/fs/selinux/enforce"),
      cgroupUnified: cgroups.mode === "v2",
      onlineCpus: await readTrimmed("/sys/devices/system/cpu/online"),
      // Without NUMA there is no node directory: memory node 0 is all there is.
      onlineMems: (await readTrimmed("/sys/devices/system/node/online")) ?? "0",
    },
    cgroups,
  };
}
