// Builders of fully-defaulted CRI messages (as the proto loader delivers them) and contexts for
// the spec builder tests.
import type { ContainerConfig__Output } from "../../../src/gen/runtime/v1/ContainerConfig.js";
import type { LinuxContainerResources__Output } from "../../../src/gen/runtime/v1/LinuxContainerResources.js";
import type { LinuxContainerSecurityContext__Output } from "../../../src/gen/runtime/v1/LinuxContainerSecurityContext.js";
import type { LinuxSandboxSecurityContext__Output } from "../../../src/gen/runtime/v1/LinuxSandboxSecurityContext.js";
import type { Mount__Output } from "../../../src/gen/runtime/v1/Mount.js";
import type { NamespaceOption__Output } from "../../../src/gen/runtime/v1/NamespaceOption.js";
import type { PodSandboxConfig__Output } from "../../../src/gen/runtime/v1/PodSandboxConfig.js";
import type {
  ContainerSpecContext,
  SandboxSpecContext,
} from "../../../src/runtime/spec/context.js";
import { mountDestinationsToResolve } from "../../../src/runtime/spec/mounts.js";

export function namespaces(over: Partial<NamespaceOption__Output> = {}): NamespaceOption__Output {
  return {
    network: "POD",
    pid: "CONTAINER",
    ipc: "POD",
    target_id: "",
    userns_options: null,
    ...over,
  };
}

export function securityContext(
  over: Partial<LinuxContainerSecurityContext__Output> = {},
): LinuxContainerSecurityContext__Output {
  return {
    capabilities: null,
    privileged: false,
    namespace_options: namespaces(),
    selinux_options: null,
    run_as_user: null,
    run_as_username: "",
    readonly_rootfs: false,
    supplemental_groups: [],
    apparmor_profile: "",
    seccomp_profile_path: "",
    no_new_privs: false,
    run_as_group: null,
    masked_paths: [],
    readonly_paths: [],
    seccomp: null,
    apparmor: null,
    supplemental_groups_policy: "Merge",
    ...over,
  };
}

export function sandboxSecurityContext(
  over: Partial<LinuxSandboxSecurityContext__Output> = {},
): LinuxSandboxSecurityContext__Output {
  return {
    namespace_options: namespaces({ pid: "CONTAINER" }),
    selinux_options: null,
    run_as_user: null,
    readonly_rootfs: false,
    supplemental_groups: [],
    privileged: false,
    seccomp_profile_path: "",
    run_as_group: null,
    seccomp: null,
    apparmor: null,
    supplemental_groups_policy: "Merge",
    ...over,
  };
}

export function resources(
  over: Partial<LinuxContainerResources__Output> = {},
): LinuxContainerResources__Output {
  return {
    cpu_period: "0",
    cpu_quota: "0",
    cpu_shares: "0",
    memory_limit_in_bytes: "0",
    oom_score_adj: "0",
    cpuset_cpus: "",
    cpuset_mems: "",
    hugepage_limits: [],
    unified: {},
    memory_swap_limit_in_bytes: "0",
    ...over,
  };
}

export function mount(over: Partial<Mount__Output> = {}): Mount__Output {
  return {
    container_path: "/data",
    host_path: "/srv/data",
    readonly: false,
    selinux_relabel: false,
    propagation: "PROPAGATION_PRIVATE",
    uidMappings: [],
    gidMappings: [],
    recursive_read_only: false,
    image: null,
    image_sub_path: "",
    mount_options: [],
    ...over,
  };
}

export function containerConfig(
  over: Partial<ContainerConfig__Output> = {},
  sc: Partial<LinuxContainerSecurityContext__Output> = {},
): ContainerConfig__Output {
  return {
    metadata: { name: "app", attempt: 0 },
    image: {
      image: "docker.io/library/busybox:latest",
      annotations: {},
      user_specified_image: "busybox",
      runtime_handler: "",
      image_ref: "sha256:abc",
    },
    command: [],
    args: [],
    working_dir: "",
    envs: [],
    mounts: [],
    devices: [],
    labels: {},
    annotations: {},
    log_path: "app/0.log",
    stdin: false,
    stdin_once: false,
    tty: false,
    linux: { resources: resources(), security_context: securityContext(sc) },
    windows: null,
    CDI_devices: [],
    stop_signal: "SIGNAL_RUNTIME_DEFAULT",
    ...over,
  };
}

export function sandboxConfig(
  over: Partial<PodSandboxConfig__Output> = {},
  sc: Partial<LinuxSandboxSecurityContext__Output> = {},
  sysctls: Record<string, string> = {},
): PodSandboxConfig__Output {
  return {
    metadata: { name: "web", uid: "uid-1", namespace: "default", attempt: 0 },
    hostname: "web",
    log_directory: "/var/log/pods/default_web_uid-1",
    dns_config: null,
    port_mappings: [],
    labels: {},
    annotations: {},
    linux: {
      cgroup_parent: "/kubepods/poduid-1",
      security_context: sandboxSecurityContext(sc),
      sysctls,
      overhead: null,
      resources: null,
    },
    windows: null,
    ...over,
  };
}

export const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "daemon:x:1:1:daemon:/usr/sbin:/bin/false",
  "www:x:33:33:www-data:/var/www:/bin/false",
  "alice:x:1000:1000::/home/alice:/bin/sh",
  "",
].join("\n");

export const GROUP = [
  "root:x:0:",
  "daemon:x:1:",
  "wheel:x:10:root,alice",
  "www:x:33:",
  "alice:x:1000:",
  "audio:x:29:alice",
  "",
].join("\n");

/** A context for `config`, with identity mount destinations (no symlinks in the rootfs). */
export function containerContext(
  config: ContainerConfig__Output,
  over: Partial<ContainerSpecContext> = {},
): ContainerSpecContext {
  const sandbox = {
    id: "sb1",
    pid: 4242,
    namespacePaths: {},
    hostname: "web",
    resolvConfPath: "/var/lib/berth/sandboxes/sb1/resolv.conf",
    hostsPath: "/var/lib/berth/sandboxes/sb1/hosts",
    hostnamePath: "/var/lib/berth/sandboxes/sb1/hostname",
    shmPath: "/var/lib/berth/sandboxes/sb1/shm",
    cgroupParent: "/kubepods/poduid-1",
  };
  const ctx: ContainerSpecContext = {
    rootfsPath: "/var/lib/berth/containers/c1/rootfs",
    cgroupPath: "/kubepods/poduid-1/c1",
    seccomp: { localhost: {} },
    hostHas: { apparmor: false, selinux: false },
    oomScoreAdjMin: 0,
    arch: "x64",
    containerId: "c1",
    sandbox,
    imageName: "docker.io/library/busybox:latest",
    passwd: PASSWD,
    group: GROUP,
    mountDestinations: new Map(),
    devices: [],
    ...over,
  };
  if (over.mountDestinations === undefined) {
    ctx.mountDestinations = new Map(
      mountDestinationsToResolve(config, ctx.sandbox).map((p) => [p, p]),
    );
  }
  return ctx;
}

export function sandboxContext(over: Partial<SandboxSpecContext> = {}): SandboxSpecContext {
  return {
    rootfsPath: "/var/lib/berth/sandboxes/sb1/rootfs",
    cgroupPath: "/kubepods/poduid-1/sb1",
    seccomp: { localhost: {} },
    hostHas: { apparmor: false, selinux: false },
    oomScoreAdjMin: -1000,
    arch: "x64",
    sandboxId: "sb1",
    initPath: "/usr/bin/catatonit",
    namespacePaths: {},
    hostname: "web",
    shmPath: "/var/lib/berth/sandboxes/sb1/shm",
    ...over,
  };
}
