// The files the berth-vs-containerd benchmark writes, as pure functions: the CNI config list both
// runtimes get (same shape, own bridge and subnet), containerd's config.toml (every path under the
// benchmark's temp dir) and the hosts.toml that sends containerd to the local registry over HTTP.
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import type * as SmolToml from "smol-toml" with { "resolution-mode": "import" };

// smol-toml ships a CommonJS build beside its ESM one; its types are declared as ESM only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { stringify: stringifyToml } = require("smol-toml") as typeof SmolToml;

export interface BenchNetwork {
  /** The CNI network name. */
  name: string;
  bridge: string;
  /** An IPv4 /24. */
  subnet: string;
  /** host-local's reservation dir (under the temp dir, so nothing is left in /var/lib/cni). */
  ipamDataDir: string;
}

/**
 * A bridge and a /24 for one runtime of the run: 10.252.x.0/24 for berth and 10.253.x.0/24 for
 * containerd, ranges no test or the conformance kit uses, so the two never share addresses.
 */
export function benchNetwork(runtime: "berth" | "containerd", tempDir: string): BenchNetwork {
  const hex = randomBytes(3).toString("hex");
  const third = randomBytes(1)[0]!;
  const short = runtime === "berth" ? "b" : "c";
  return {
    name: `vsbench-${runtime}`,
    bridge: `vsb${short}${hex}`,
    subnet: `10.${runtime === "berth" ? 252 : 253}.${third}.0/24`,
    ipamDataDir: path.join(tempDir, "cni-ipam"),
  };
}

/** bridge + host-local + portmap, no masquerade: the shape the issue measured, for both runtimes. */
export function benchConflist(net: BenchNetwork): string {
  const list = {
    cniVersion: "1.0.0",
    name: net.name,
    plugins: [
      {
        type: "bridge",
        bridge: net.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: net.subnet }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: net.ipamDataDir,
        },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
    ],
  };
  return JSON.stringify(list, null, 2) + "\n";
}

export interface ContainerdLayout {
  dir: string;
  socket: string;
  root: string;
  state: string;
  temp: string;
  /** The opt plugin's dir (its default, /opt/containerd, is outside the temp dir). */
  opt: string;
  /** runc's --root for the shims (their default is /run/containerd/runc). */
  runcRoot: string;
  cniConfDir: string;
  /** Holds one `<host:port>/hosts.toml` per registry. */
  certsDir: string;
  configFile: string;
  log: string;
}

export function containerdLayout(dir: string): ContainerdLayout {
  return {
    dir,
    socket: path.join(dir, "containerd.sock"),
    root: path.join(dir, "root"),
    state: path.join(dir, "state"),
    temp: path.join(dir, "tmp"),
    opt: path.join(dir, "opt"),
    runcRoot: path.join(dir, "runc"),
    cniConfDir: path.join(dir, "cni-conf"),
    certsDir: path.join(dir, "certs.d"),
    configFile: path.join(dir, "config.toml"),
    log: path.join(dir, "containerd.log"),
  };
}

export interface ContainerdConfigOptions {
  layout: ContainerdLayout;
  /** `host:port/repo:tag` of the pause image in the local registry. */
  sandboxImage: string;
  cniBinDir: string;
  runcPath: string;
  /** Layers downloaded at once: the same as berthd's max_concurrent_downloads. */
  maxConcurrentDownloads: number;
}

const CRI = "io.containerd.grpc.v1.cri";

/**
 * containerd 1.6's config.toml (version 2) for the benchmark. Everything else stays at
 * containerd's defaults, so the daemon measured is the one an operator runs.
 */
export function containerdConfig(o: ContainerdConfigOptions): string {
  const l = o.layout;
  const doc = {
    version: 2,
    root: l.root,
    state: l.state,
    temp: l.temp,
    grpc: { address: l.socket },
    // Empty: no debug socket and no metrics listener, as in containerd's own defaults.
    debug: { address: "", level: "info" },
    metrics: { address: "" },
    plugins: {
      "io.containerd.internal.v1.opt": { path: l.opt },
      [CRI]: {
        sandbox_image: o.sandboxImage,
        // This host lacks CAP_SYS_RESOURCE: without it runc fails to lower oom_score_adj.
        restrict_oom_score_adj: true,
        // Otherwise the pods' netns files go to /var/run/netns, outside the temp dir.
        netns_mounts_under_state_dir: true,
        disable_apparmor: true,
        enable_selinux: false,
        stream_server_address: "127.0.0.1",
        stream_server_port: "0",
        max_concurrent_downloads: o.maxConcurrentDownloads,
        cni: { bin_dir: o.cniBinDir, conf_dir: l.cniConfDir, max_conf_num: 1 },
        containerd: {
          snapshotter: "overlayfs",
          default_runtime_name: "runc",
          runtimes: {
            runc: {
              runtime_type: "io.containerd.runc.v2",
              options: { BinaryName: o.runcPath, Root: l.runcRoot, SystemdCgroup: false },
            },
          },
        },
        registry: { config_path: l.certsDir },
      },
    },
  };
  return stringifyToml(doc) + "\n";
}

/** `certs.d/<host>/hosts.toml`: pull and resolve from `host` over plain HTTP. */
export function registryHostsToml(host: string): string {
  const url = `http://${host}`;
  return (
    stringifyToml({ server: url, host: { [url]: { capabilities: ["pull", "resolve"] } } }) + "\n"
  );
}
