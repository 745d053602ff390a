// berth's configuration: every key has a default, so berthd runs with no file at all. The file
// (/etc/berth/berth.toml) overrides defaults; command-line flags override the file.

export interface RuntimeHandlerConfig {
  /** Path of the OCI runtime binary. */
  path: string;
  /** Root directory for the runtime's own state (`--root`); empty = under berth's state dir. */
  root: string;
}

export interface RegistryConfig {
  /** Tried in order before the registry itself. Each an URL (`http://` or `https://`). */
  mirrors: string[];
  /** Plain HTTP and unverified TLS allowed. */
  insecure: boolean;
}

export interface CniConfig {
  conf_dir: string;
  plugin_dirs: string[];
  /** Write berth's own bridge conflist to `default_conf_dir` (empty = `<root>/cni/net.d`)
   *  when `conf_dir` has no config. */
  default_network: boolean;
  default_conf_dir: string;
  bridge: string;
  subnet: string;
}

export interface StreamingConfig {
  /** PEM certificate and key: with both set the streaming server speaks https. */
  tls_cert_file: string;
  tls_key_file: string;
  /** With a CA, clients (kubelet) must present a certificate it signed. */
  tls_ca_file: string;
  /** Exec/attach/port-forward sessions served at once; more are refused. */
  max_sessions: number;
  /** How long a client has to open a session's streams (kubelet's default: 30 s). */
  stream_creation_timeout_seconds: number;
  /** A session without traffic for this long is closed; 0 = never (kubelet's default: 4 h). */
  stream_idle_timeout_seconds: number;
}

export interface BerthConfig {
  listen: string;
  root: string;
  state: string;
  log_level: string;
  /** `host:port` of the /metrics endpoint; empty disables it. */
  metrics_address: string;
  cgroup_driver: "cgroupfs" | "systemd";
  /** Name of the default runtime handler; empty = crun where it works here, else runc. */
  default_runtime: string;
  runtimes: Record<string, RuntimeHandlerConfig>;
  conmon_path: string;
  /** Static init that holds the pod's namespaces in the infra container. */
  infra_init_path: string;
  /**
   * CRI-O's drop_infra_ctr: pods that do not share a PID namespace get no infra container; their
   * namespaces are pinned files. false = an infra container in every pod.
   */
  drop_infra_ctr: boolean;
  /** Host address the streaming server (exec/attach/port-forward) binds; port 0 = any. */
  streaming_address: string;
  streaming: StreamingConfig;
  pull_progress_timeout_seconds: number;
  max_concurrent_downloads: number;
  registries: Record<string, RegistryConfig>;
  cni: CniConfig;
}

export const DEFAULT_CONFIG_PATH = "/etc/berth/berth.toml";

export function defaultConfig(): BerthConfig {
  return {
    listen: "/run/berth/berth.sock",
    root: "/var/lib/berth",
    state: "/run/berth",
    log_level: "info",
    metrics_address: "127.0.0.1:9127",
    cgroup_driver: "cgroupfs",
    default_runtime: "",
    runtimes: {
      crun: { path: "/usr/bin/crun", root: "" },
      runc: { path: "/usr/sbin/runc", root: "" },
    },
    conmon_path: "/usr/bin/conmon",
    infra_init_path: "/usr/bin/catatonit",
    drop_infra_ctr: true,
    streaming_address: "127.0.0.1:0",
    streaming: {
      tls_cert_file: "",
      tls_key_file: "",
      tls_ca_file: "",
      max_sessions: 256,
      stream_creation_timeout_seconds: 30,
      stream_idle_timeout_seconds: 4 * 3600,
    },
    pull_progress_timeout_seconds: 60,
    max_concurrent_downloads: 3,
    registries: {},
    cni: {
      conf_dir: "/etc/cni/net.d",
      plugin_dirs: ["/usr/lib/cni", "/opt/cni/bin"],
      default_network: true,
      default_conf_dir: "",
      bridge: "berth0",
      subnet: "10.87.0.0/16",
    },
  };
}
