// Where berth keeps each thing, in one place. Persistent state (records, writable layers) goes
// under the root dir; things that die with the host (bundles, mounts, exit files, netns) under
// the state dir.
import * as path from "node:path";

export class RuntimePaths {
  constructor(
    readonly root: string,
    readonly state: string,
  ) {}

  get sandboxRecords(): string {
    return path.join(this.root, "sandboxes");
  }
  get containerRecords(): string {
    return path.join(this.root, "containers");
  }
  /** Per-pod runtime dir: hostname, hosts, resolv.conf, shm mount, the infra bundle. */
  pod(id: string): string {
    return path.join(this.state, "pods", id);
  }
  podBundle(id: string): string {
    return path.join(this.pod(id), "bundle");
  }
  get netnsDir(): string {
    return path.join(this.state, "netns");
  }
  /** Name of a pod's network namespace file in netnsDir. */
  static netnsName(podId: string): string {
    return `berth-${podId.slice(0, 16)}`;
  }
  get exitDir(): string {
    return path.join(this.state, "exits");
  }
  /** conmon attach sockets; short, as unix socket paths are limited to 108 bytes. */
  get socketDir(): string {
    return path.join(this.state, "s");
  }
  /** conmon's link to a container's (or pod infra's) bundle, holding its attach socket. */
  socketLink(id: string): string {
    return path.join(this.socketDir, id);
  }
  /** A container's bundle (config.json, rootfs mount point) and conmon's files. */
  container(id: string): string {
    return path.join(this.state, "containers", id);
  }
  containerBundle(id: string): string {
    return path.join(this.container(id), "bundle");
  }
  containerRootfs(id: string): string {
    return path.join(this.containerBundle(id), "rootfs");
  }
  containerPersist(id: string): string {
    return path.join(this.container(id), "userdata");
  }
  /** The container's writable layer (overlay upper and work dirs), kept across restarts. */
  containerLayer(id: string): string {
    return path.join(this.root, "overlay", id);
  }
  get cniResults(): string {
    return path.join(this.state, "cni", "results");
  }
  get cniIpam(): string {
    return path.join(this.root, "cni", "networks");
  }
  get tmp(): string {
    return path.join(this.state, "tmp");
  }
  get runtimeRoots(): string {
    return path.join(this.state, "runtimes");
  }
}
