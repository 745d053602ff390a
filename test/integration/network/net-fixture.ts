// A test-owned CNI world for integration tests: a bridge with a random name, a random private
// /24 in 10.251.x.0/24, host-local reservations, netns files and the result cache in a temp dir.
// cleanup() tears down whatever is left (pods via CNI DEL, netns, the bridge, iptables rules
// naming the test's network) and restores net.ipv4.ip_forward, which the bridge plugin turns on.
import { type ChildProcess, spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import { silentLogger } from "../../../src/log.js";
import { ProcessRunner, runChecked } from "../../../src/util/command.js";
import { CniRunner, type PodNetworkRequest } from "../../../src/network/cni-runner.js";
import type { CapabilityArgs } from "../../../src/network/cni-exec.js";
import { buildDefaultConflist, renderConflist } from "../../../src/network/default-conflist.js";
import { createNetns, listNetns, removeNetns } from "../../../src/network/netns.js";

export const CNI_BIN = "/usr/lib/cni";
const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";

/** Why these tests cannot run here, or undefined when they can. */
export async function integrationSkipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "needs root";
  for (const p of ["bridge", "host-local", "loopback", "portmap"]) {
    try {
      await fs.access(path.join(CNI_BIN, p));
    } catch {
      return `CNI plugin ${p} not in ${CNI_BIN}`;
    }
  }
  const runner = new ProcessRunner();
  for (const tool of ["unshare", "nsenter", "ip", "iptables-save", "busybox"]) {
    const r = await runner.run("sh", ["-c", `command -v ${tool}`]);
    if (r.code !== 0) return `${tool} not installed`;
  }
  return undefined;
}

export class NetFixture {
  readonly runner = new ProcessRunner();
  readonly id = randomBytes(3).toString("hex");
  readonly bridge = `bt${this.id}`;
  readonly networkName = `bt-${this.id}`;
  readonly third = randomInt(1, 255);
  readonly subnet = `10.251.${this.third}.0/24`;
  readonly root: string;
  readonly confDir: string;
  readonly cacheDir: string;
  readonly netnsDir: string;
  readonly ipamDir: string;
  readonly pluginDirs: string[];
  private readonly processes: ChildProcess[] = [];
  private ipForward = "";
  private hadHostportChains = true;
  cni: CniRunner;

  private constructor(root: string, extraPluginDir?: string) {
    this.root = root;
    this.confDir = path.join(root, "net.d");
    this.cacheDir = path.join(root, "cni-results");
    this.netnsDir = path.join(root, "netns");
    this.ipamDir = path.join(root, "ipam");
    this.pluginDirs = extraPluginDir ? [extraPluginDir, CNI_BIN] : [CNI_BIN];
    this.cni = this.newRunner();
  }

  static async create(extraPluginDir?: string): Promise<NetFixture> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-netit-"));
    const f = new NetFixture(root, extraPluginDir);
    await fs.mkdir(f.confDir);
    f.ipForward = (await fs.readFile(IP_FORWARD, "utf8")).trim();
    f.hadHostportChains = (await f.cniChains()).some((c) => c.startsWith("CNI-HOSTPORT-"));
    await f.writeConflist([]);
    return f;
  }

  newRunner(): CniRunner {
    return new CniRunner({
      runner: this.runner,
      logger: silentLogger(),
      confDirs: [this.confDir],
      pluginDirs: this.pluginDirs,
      cacheDir: this.cacheDir,
      pluginTimeoutMs: 60_000,
    });
  }

  /** berth's default list on the test's bridge and subnet, with `extraPlugins` appended. */
  async writeConflist(extraPlugins: { type: string }[]): Promise<void> {
    const list = buildDefaultConflist({
      bridge: this.bridge,
      subnet: this.subnet,
      ipamDataDir: this.ipamDir,
      networkName: this.networkName,
    });
    list.plugins.push(...extraPlugins);
    await fs.writeFile(path.join(this.confDir, "10-test.conflist"), renderConflist(list));
  }

  request(name: string, capabilities?: CapabilityArgs): PodNetworkRequest {
    const sandboxId = `${this.id}${name}`.replace(/[^a-z0-9]/g, "");
    const req: PodNetworkRequest = {
      podName: name,
      namespace: "berth-it",
      uid: `uid-${sandboxId}`,
      sandboxId,
      netnsPath: path.join(this.netnsDir, sandboxId),
    };
    if (capabilities) req.capabilities = capabilities;
    return req;
  }

  async createNetns(req: PodNetworkRequest): Promise<void> {
    await createNetns(this.runner, this.netnsDir, path.basename(req.netnsPath));
  }

  async run(file: string, args: string[]): Promise<string> {
    return (await runChecked(this.runner, file, args, { timeoutMs: 30_000 })).stdout.toString(
      "utf8",
    );
  }

  /** Runs `busybox <args>` inside the pod's netns. */
  async inPod(req: PodNetworkRequest, args: string[]): Promise<string> {
    return this.run("nsenter", [`--net=${req.netnsPath}`, "busybox", ...args]);
  }

  /** Starts a TCP server in the pod that answers every connection with `reply`. */
  async serveInPod(req: PodNetworkRequest, port: number, reply: string): Promise<void> {
    const child = spawn(
      "nsenter",
      [
        `--net=${req.netnsPath}`,
        "busybox",
        "nc",
        "-ll",
        "-p",
        String(port),
        "-e",
        "/bin/echo",
        reply,
      ],
      {
        stdio: "ignore",
      },
    );
    this.processes.push(child);
    // Wait until it listens: `nc -z` is not in this busybox, so probe with a real connect.
    for (let i = 0; i < 50; i++) {
      const r = await this.runner.run(
        "nsenter",
        [`--net=${req.netnsPath}`, "busybox", "nc", "-w", "1", "127.0.0.1", String(port)],
        { timeoutMs: 3000 },
      );
      if (r.stdout.toString("utf8").includes(reply)) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`server in ${req.podName} did not start`);
  }

  /** Interfaces enslaved to the test bridge (the host ends of pod veths). */
  async bridgePorts(): Promise<string[]> {
    const r = await this.runner.run("ip", ["-o", "link", "show", "master", this.bridge]);
    if (r.code !== 0) return [];
    return r.stdout
      .toString("utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => (l.split(": ")[1] ?? "").split("@")[0] ?? "");
  }

  /** IP addresses host-local holds for the test network. */
  async reservations(): Promise<string[]> {
    try {
      const names = await fs.readdir(path.join(this.ipamDir, this.networkName));
      return names.filter((n) => /^[0-9a-f.:]+$/.test(n) && n.includes("."));
    } catch {
      return [];
    }
  }

  /** nat-table lines (chains and rules) that mention any of `needles`. */
  async natLinesWith(needles: string[]): Promise<string[]> {
    const text = await this.run("iptables-save", ["-t", "nat"]);
    return text.split("\n").filter((l) => needles.some((n) => l.includes(n)));
  }

  async cniChains(): Promise<string[]> {
    const text = await this.run("iptables-save", ["-t", "nat"]);
    return text
      .split("\n")
      .filter((l) => l.startsWith(":CNI-"))
      .map((l) => l.slice(1).split(" ")[0] ?? "");
  }

  async cleanup(): Promise<void> {
    for (const p of this.processes)
      if (p.pid !== undefined && p.exitCode === null) process.kill(p.pid, "SIGKILL");
    const errors: string[] = [];
    const runner = this.newRunner();
    for (const id of await runner.attachedSandboxIds()) {
      await runner
        .teardownPodNetwork({
          podName: id,
          namespace: "berth-it",
          uid: id,
          sandboxId: id,
          netnsPath: path.join(this.netnsDir, id),
        })
        .catch((e: unknown) => errors.push(String(e)));
    }
    for (const ns of await listNetns(this.netnsDir)) {
      await removeNetns(this.runner, ns.path).catch((e: unknown) => errors.push(String(e)));
    }
    await this.runner.run("ip", ["link", "del", this.bridge]);
    await this.deleteNatLeftovers();
    if (!this.hadHostportChains) await this.deleteHostportChains();
    await fs.writeFile(IP_FORWARD, this.ipForward).catch(() => undefined);
    await fs.rm(this.root, { recursive: true, force: true });
    if (errors.length > 0) console.error(`network fixture cleanup: ${errors.join("; ")}`);
  }

  // portmap's shared chains stay after the last DEL by design; a test that brought them to a
  // host that had none takes them away again.
  private async deleteHostportChains(): Promise<void> {
    const text = await this.run("iptables-save", ["-t", "nat"]);
    for (const l of text.split("\n")) {
      if (!l.startsWith("-A ") || !/-j CNI-HOSTPORT-/.test(l) || l.startsWith("-A CNI-")) continue;
      await this.runner.run("sh", ["-c", `iptables -t nat -D ${l.slice(3)}`]);
    }
    for (const c of ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"]) {
      await this.runner.run("iptables", ["-t", "nat", "-F", c]);
      await this.runner.run("iptables", ["-t", "nat", "-X", c]);
    }
  }

  // Last resort after a failed test: rules whose comment names the test network, and the
  // per-pod chains they jump to.
  private async deleteNatLeftovers(): Promise<void> {
    const lines = await this.natLinesWith([`"${this.networkName}"`, this.id]);
    const chains = new Set<string>();
    for (const l of lines.filter((x) => x.startsWith("-A "))) {
      const args = l.split(" ").slice(1);
      const jump = args[args.indexOf("-j") + 1];
      if (jump?.startsWith("CNI-") && !jump.startsWith("CNI-HOSTPORT")) chains.add(jump);
      await this.runner.run("sh", ["-c", `iptables -t nat -D ${args.join(" ")}`]);
    }
    for (const c of chains) {
      await this.runner.run("iptables", ["-t", "nat", "-F", c]);
      await this.runner.run("iptables", ["-t", "nat", "-X", c]);
    }
  }
}
