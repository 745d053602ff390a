// Public surface of the cgroup readers.
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
  systemdCgroupsPath,
  systemdCgroupsPathToCgroupPath,
  systemdUnitName,
  type CgroupDriver,
} from "./cgroup-paths.js";
export { cpuSharesToWeight, cpuWeightToShares } from "./parse-cpu.js";
export { parseMountinfo, type MountInfoEntry } from "./mountinfo.js";
