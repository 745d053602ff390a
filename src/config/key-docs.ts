// What each configuration key means, in the words the config file shows next to it. The
// renderer (render.ts) walks these lists with a BerthConfig, so `berthd config default` and
// deploy/berth.toml (generated from it, compared in a unit test) cannot drift from the defaults.
import type { BerthConfig, CniConfig, StreamingConfig } from "./config.js";

export type TopLevelScalarKey = Exclude<
  keyof BerthConfig,
  "runtimes" | "registries" | "cni" | "streaming"
>;

export interface KeyDoc<K extends string> {
  key: K;
  /** Comment lines shown above the key (without "# "). */
  doc: string[];
}

export const FILE_HEADER = [
  "/etc/berth/berth.toml: every key berth reads, each set to its default. Every key is optional;",
  "berthd runs with no file at all. Command-line flags override the file. Unknown keys and wrong",
  "types stop berthd at startup with a message naming the key. `berthd config default` prints",
  "this file; `berthd config check FILE` validates one.",
];

export const TOP_LEVEL_DOCS: KeyDoc<TopLevelScalarKey>[] = [
  { key: "listen", doc: ["CRI gRPC unix socket (flag --listen)."] },
  { key: "root", doc: ["Persistent state: images, snapshots, container metadata (flag --root)."] },
  {
    key: "state",
    doc: ["Runtime state: bundles, exit files, conmon pid files, netns (flag --state)."],
  },
  { key: "log_level", doc: ["fatal, error, warn, info, debug, trace (flag --log-level)."] },
  {
    key: "metrics_address",
    doc: ['HOST:PORT of the Prometheus endpoint; "" disables it (flag --metrics-address).'],
  },
  {
    key: "cgroup_driver",
    doc: ["cgroupfs or systemd; reported to kubelet by the RuntimeConfig RPC."],
  },
  {
    key: "default_runtime",
    doc: [
      'Runtime handler used when a pod names none; "" = crun where it works on this host, else runc.',
    ],
  },
  { key: "conmon_path", doc: ["conmon, the per-container monitor."] },
  {
    key: "infra_init_path",
    doc: [
      "Static init run by a pod's infra container to hold its namespaces (pods that share one PID",
      "namespace, or every pod with drop_infra_ctr = false).",
    ],
  },
  {
    key: "drop_infra_ctr",
    doc: [
      "Pods that do not share one PID namespace get no infra container (CRI-O's drop_infra_ctr):",
      "their network, IPC and UTS namespaces are bind-mounted files. false = an infra container",
      "(catatonit under conmon) in every pod.",
    ],
  },
  {
    key: "streaming_address",
    doc: [
      "Address of the exec/attach/port-forward streaming server; port 0 picks a free one. kubelet",
      "connects to it (the URL berth returns from Exec/Attach/PortForward names it).",
    ],
  },
  {
    key: "pull_progress_timeout_seconds",
    doc: ["A pull fails when no bytes arrive for this long (kubelet sets no deadline of its own)."],
  },
  { key: "max_concurrent_downloads", doc: ["Layers downloaded at once per pull."] },
];

export const RUNTIMES_DOC = [
  "OCI runtime handlers, selected by RunPodSandbox's runtime_handler. Each is probed at startup;",
  "one that cannot run containers on this host is reported in Status and never used.",
  '`root` is the runtime\'s own state dir ("" = <state>/runtimes/<name>).',
];

export const REGISTRIES_DOC = [
  'Registries, keyed by host ("*" applies to all). Mirrors are tried in order, then the',
  "registry itself; images keep the name they were asked for. Loopback registries",
  "(localhost, 127.0.0.0/8, [::1]) may use plain http without being listed.",
];

/** Shown commented out when no registry is configured (the default). */
export const REGISTRIES_EXAMPLE = [
  '[registries."registry.k8s.io"]',
  'mirrors = ["http://127.0.0.1:5000", "https://mirror.example"]',
  '[registries."127.0.0.1:5000"]',
  "insecure = true",
];

export const CNI_DOCS: KeyDoc<keyof CniConfig>[] = [
  {
    key: "conf_dir",
    doc: [
      "Where the node's CNI network configs live; the first usable one (by file name) is used.",
    ],
  },
  { key: "plugin_dirs", doc: [] },
  {
    key: "default_network",
    doc: [
      "When conf_dir has no usable config, write berth's own bridge network to default_conf_dir",
      '("" = <root>/cni/net.d) and use it.',
    ],
  },
  { key: "default_conf_dir", doc: [] },
  { key: "bridge", doc: [] },
  { key: "subnet", doc: [] },
];

export const STREAMING_DOCS: KeyDoc<keyof StreamingConfig>[] = [
  {
    key: "tls_cert_file",
    doc: [
      "PEM certificate and key of the streaming server: with both set it serves https; with a CA as",
      "well, clients (kubelet) must present a certificate that CA signed.",
    ],
  },
  { key: "tls_key_file", doc: [] },
  { key: "tls_ca_file", doc: [] },
  {
    key: "max_sessions",
    doc: ["Exec, attach and port-forward sessions served at once; more are refused (HTTP 429)."],
  },
  {
    key: "stream_creation_timeout_seconds",
    doc: ["How long a client has to open a session's streams (kubelet's default)."],
  },
  {
    key: "stream_idle_timeout_seconds",
    doc: [
      "A session without traffic for this long is closed; 0 = never (kubelet's default: 4 hours).",
    ],
  },
];
