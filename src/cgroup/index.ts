// Public surface of the cgroup module: setup detection, path conversion and checks, the stats
// readers and cgroup removal. The mountinfo parser it uses is src/util/mountinfo.ts.
export type {
  CgroupMode,
  CgroupSetup,
  CgroupStats,
  CpuStats,
  IoDeviceStats,
  MemoryStats,
  PidsStats,
  PressureStats,
  PressureTotals,
  PsiStats,
  ReadStatsOptions,
  ResourceSpec,
  StatsSection,
} from "./types.js";
export { ALL_STATS_SECTIONS } from "./types.js";
export {
  DEFAULT_MOUNTINFO_PATH,
  HOST_CGROUP_ROOT,
  cgroupDir,
  cgroupProcsDir,
  detectCgroupSetup,
  loadCgroupSetup,
  unifiedCgroupDir,
  type DetectOptions,
} from "./detect-setup.js";
export { createCgroupStatsReader, readCgroupStats, type CgroupStatsReader } from "./read-stats.js";
export {
  DEFAULT_SYSTEMD_SLICE,
  cgroupfsContainerPath,
  expandSystemdSlice,
  ociCgroupsPathToCgroupPath,
  podCgroupsPath,
  systemdCgroupsPath,
  systemdCgroupsPathToCgroupPath,
  systemdUnitName,
  type CgroupDriver,
} from "./cgroup-paths.js";
export { MAX_CGROUP_PARENT, checkCgroupParent } from "./cgroup-parent.js";
export { cpuSharesToWeight, cpuWeightToShares } from "./parse-cpu.js";
export { cgroupDirChain, parseCgroupMounts, removeCgroupPath, type CgroupMount } from "./remove.js";
