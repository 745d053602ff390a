// What the spec builders need to know besides the CRI request and the image config: paths and
// facts berth has gathered (mostly in the async pre-step of prepare.ts) before building.
import type { OciSeccomp } from "./oci-types.js";

export interface SandboxNamespacePaths {
  net?: string;
  ipc?: string;
  uts?: string;
  pid?: string;
}

/** The running sandbox a container joins. */
export interface SandboxInfo {
  id: string;
  /** PID of the infra process; its /proc/<pid>/ns/* stand in for namespacePaths left unset. */
  pid: number;
  namespacePaths: SandboxNamespacePaths;
  hostname: string;
  /** Host files bind-mounted at /etc/resolv.conf, /etc/hosts, /etc/hostname (absent = none). */
  resolvConfPath?: string;
  hostsPath?: string;
  hostnamePath?: string;
  /** Host directory bind-mounted at /dev/shm (absent = a private tmpfs). */
  shmPath?: string;
  cgroupParent: string;
}

/** Where seccomp profiles come from. */
export interface SeccompSources {
  /** Replaces berth's own RuntimeDefault profile when set. */
  runtimeDefault?: OciSeccomp;
  /** Contents of Localhost profile files by absolute path, read beforehand (prepare.ts). */
  localhost: Readonly<Record<string, string>>;
}

export interface HostFeatures {
  apparmor: boolean;
  selinux: boolean;
  /** A pure cgroup v2 host: the only one where `unified` resources can be applied. */
  cgroupUnified?: boolean;
  /** The host's online CPUs and memory nodes ("0-3"), which a cpuset may name. */
  onlineCpus?: string;
  onlineMems?: string;
}

/** A host device, stat'ed beforehand (prepare.ts), to expose in the container. */
export interface ResolvedDevice {
  /** Index into ContainerConfig.devices, for error messages. */
  index: number;
  containerPath: string;
  hostPath: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
  permissions: string;
}

/** Facts shared by the container and sandbox builders. */
export interface CommonSpecContext {
  rootfsPath: string;
  /** cgroupfs path ("/kubepods/pod123/abc") or systemd "slice:prefix:name". */
  cgroupPath: string;
  seccomp: SeccompSources;
  hostHas: HostFeatures;
  /** The lowest oom_score_adj berth can set (0 when it lacks CAP_SYS_RESOURCE). */
  oomScoreAdjMin: number;
  /** Capability names (CAP_*) given to containers by default; containerd's 14 when absent. */
  defaultCapabilities?: readonly string[];
  /** Every capability berth itself holds (for privileged); all known ones when absent. */
  allCapabilities?: readonly string[];
  /** Node's process.arch of the host ("x64", "arm64"): picks seccomp architectures. */
  arch?: string;
  /** AppArmor profile loaded on the host for RuntimeDefault; none = run unconfined, warn. */
  apparmorDefaultProfile?: string;
  /** Give the container a private cgroup namespace (do so on cgroup v2 hosts). */
  privateCgroupNamespace?: boolean;
}

export interface ContainerSpecContext extends CommonSpecContext {
  containerId: string;
  sandbox: SandboxInfo;
  /** The image reference to record in the image-name annotation. */
  imageName: string;
  /** PID whose pid namespace a TARGET container joins. */
  targetPid?: number;
  /** The image's /etc/passwd and /etc/group contents (absent = the image has none). */
  passwd?: string;
  group?: string;
  /**
   * Container path of each CRI mount and sandbox file, resolved inside the rootfs by
   * resolveMountDestinations (prepare.ts). Every destination the builder uses must be here.
   */
  mountDestinations: ReadonlyMap<string, string>;
  devices: readonly ResolvedDevice[];
  /** Host devices a privileged container gets (listHostDevices in prepare.ts). */
  hostDevices?: readonly ResolvedDevice[];
}

export interface SandboxSpecContext extends CommonSpecContext {
  sandboxId: string;
  /** Host path of the static init (catatonit); bind-mounted read-only into the rootfs. */
  initPath: string;
  /** Arguments to the init; ["-P"] (catatonit's pause mode) when absent. */
  initArgs?: readonly string[];
  /** Existing namespaces to join (e.g. a netns CNI already set up); new ones otherwise. */
  namespacePaths: SandboxNamespacePaths;
  /** The hostname to set (used only when the sandbox has its own UTS namespace). */
  hostname: string;
  shmPath?: string;
}
