// The hostile requests issue 11 found by hand, replayed at the start of every fuzz run: each
// answered INTERNAL, hung or leaked before berth validated its input.
import { MARK } from "./hostile-values.js";

export interface Fixtures {
  podId: string;
  ctrId: string;
  /** A well-formed pod config (for RunPodSandbox cases). */
  pod: () => Record<string, unknown>;
  /** A well-formed container config (for CreateContainer cases). */
  container: () => Record<string, unknown>;
  podConfig: Record<string, unknown>;
}

const MiB = 1024 * 1024;

export function knownCases(f: Fixtures): [string, Record<string, unknown>][] {
  const pod = (over: Record<string, unknown>) => ({ config: { ...f.pod(), ...over } });
  const podMeta = (over: Record<string, unknown>) =>
    pod({ metadata: { ...(f.pod()["metadata"] as object), ...over } });
  const podLinux = (over: Record<string, unknown>) => pod({ linux: over });
  const ctr = (over: Record<string, unknown>) => ({
    pod_sandbox_id: f.podId,
    sandbox_config: f.podConfig,
    config: { ...f.container(), ...over },
  });
  const res = (r: Record<string, unknown>) => ctr({ linux: { resources: r } });
  const update = (r: Record<string, unknown>) => ({ container_id: f.ctrId, linux: r });
  const big = "x".repeat(1 << 20);
  return [
    ["RunPodSandbox", podMeta({ name: `${MARK}-pöd` })],
    ["RunPodSandbox", podMeta({ name: `${MARK}\0pod` })],
    ["RunPodSandbox", podMeta({ name: big })],
    ["RunPodSandbox", podMeta({ uid: big })],
    ["RunPodSandbox", podMeta({ namespace: big })],
    ["RunPodSandbox", pod({ log_directory: "." })],
    ["RunPodSandbox", podLinux({ cgroup_parent: `${MARK}-rel` })],
    ["RunPodSandbox", podLinux({ cgroup_parent: `/../../../${MARK}` })],
    ["RunPodSandbox", podLinux({ cgroup_parent: `/${"c".repeat(100_000)}` })],
    [
      "RunPodSandbox",
      pod({ port_mappings: [{ protocol: "TCP", container_port: 80, host_port: 99999 }] }),
    ],
    ["RunPodSandbox", pod({ hostname: "h".repeat(200) })],
    ["CreateContainer", ctr({ metadata: { name: `${MARK}-ctr-ünïcode` } })],
    ["CreateContainer", ctr({ metadata: { name: `${MARK}\0ctr` } })],
    ["CreateContainer", ctr({ command: ["/bin/sh\0"] })],
    ["CreateContainer", ctr({ log_path: "." })],
    ["CreateContainer", ctr({ log_path: `${MARK}-pöd.log` })],
    ["CreateContainer", ctr({ command: [`${MARK}-${"b".repeat(100 * 1024)}`, "600"] })],
    ["CreateContainer", ctr({ log_path: `${MARK}\0.log` })],
    ["CreateContainer", res({ memory_limit_in_bytes: 1 })],
    ["CreateContainer", res({ unified: { "memory.high": "max" } })],
    ["CreateContainer", res({ cpu_shares: 262145 })],
    ["CreateContainer", res({ cpu_period: 10 })],
    [
      "CreateContainer",
      res({ memory_limit_in_bytes: 64 * MiB, memory_swap_limit_in_bytes: 32 * MiB }),
    ],
    ["CreateContainer", res({ cpuset_cpus: "garbage" })],
    ["UpdateContainerResources", update({ oom_score_adj: 100000 })],
    ["UpdateContainerResources", update({ memory_limit_in_bytes: 1 })],
    ["UpdateContainerResources", update({ cpu_period: 10 })],
    ["UpdateContainerResources", update({ memory_limit_in_bytes: 64 * MiB, cpuset_cpus: "1000" })],
    ["CreateContainer", ctr({ mounts: [{ container_path: "//", host_path: "/tmp" }] })],
    ["ExecSync", { container_id: f.ctrId, cmd: ["/bin/echo\0"], timeout: 2 }],
    ["ExecSync", { container_id: f.ctrId, cmd: ["/bin/echo", "hi"], timeout: 12582912 }],
  ];
}
