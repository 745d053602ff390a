// Debian's containerd for the benchmark: installed with apt-get when missing, started with the
// benchmark's own config (own socket, root and state under a temp dir), stopped by its PID.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, promises as fs } from "node:fs";
import * as path from "node:path";
import {
  type BenchNetwork,
  benchConflist,
  containerdConfig,
  type ContainerdLayout,
  registryHostsToml,
} from "./configs.js";
import type { Crictl } from "./crictl.js";

export const CONTAINERD = "/usr/bin/containerd";
export const CNI_BIN_DIR = "/usr/lib/cni";
export const RUNC = "/usr/sbin/runc";
export const CRUN = "/usr/bin/crun";

function installed(pkg: string): boolean {
  try {
    const out = execFileSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
    return out.includes("install ok installed");
  } catch {
    return false;
  }
}

/** apt-get installs containerd (and the CNI plugins, runc) when missing; idempotent. */
export function ensurePackages(): void {
  const missing = ["containerd", "containernetworking-plugins", "runc"].filter(
    (p) => !installed(p),
  );
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(" ")} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
    stdio: ["ignore", "ignore", "inherit"],
    env,
  });
}

export function containerdVersion(): string {
  return execFileSync(CONTAINERD, ["--version"], { encoding: "utf8" }).trim();
}

export class ContainerdDaemon {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> | undefined;

  private constructor(readonly layout: ContainerdLayout) {}

  /** Writes the config, the CNI conflist and the registry's hosts.toml, then starts containerd. */
  static async start(opts: {
    layout: ContainerdLayout;
    network: BenchNetwork;
    registryHost: string;
    sandboxImage: string;
    maxConcurrentDownloads: number;
    /** The OCI runtime binary the runc shim drives (runc, or crun in its place). */
    runtimePath: string;
  }): Promise<ContainerdDaemon> {
    const l = opts.layout;
    for (const d of [l.dir, l.root, l.state, l.temp, l.opt, l.runcRoot, l.cniConfDir]) {
      await fs.mkdir(d, { recursive: true, mode: 0o711 });
    }
    await fs.writeFile(
      l.configFile,
      containerdConfig({
        layout: l,
        sandboxImage: opts.sandboxImage,
        cniBinDir: CNI_BIN_DIR,
        runcPath: opts.runtimePath,
        maxConcurrentDownloads: opts.maxConcurrentDownloads,
      }),
    );
    await fs.writeFile(path.join(l.cniConfDir, "10-vsbench.conflist"), benchConflist(opts.network));
    const hostDir = path.join(l.certsDir, opts.registryHost);
    await fs.mkdir(hostDir, { recursive: true });
    await fs.writeFile(path.join(hostDir, "hosts.toml"), registryHostsToml(opts.registryHost));
    const d = new ContainerdDaemon(l);
    await d.launch();
    return d;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  private async launch(): Promise<void> {
    const log = createWriteStream(this.layout.log, { flags: "a" });
    await once(log, "open");
    // Its own process group: a Ctrl-C at the terminal reaches the benchmark, which then removes
    // the pods through containerd before stopping it.
    const child = spawn(CONTAINERD, ["--config", this.layout.configFile], {
      stdio: ["ignore", log, log],
      detached: true,
    });
    this.child = child;
    this.exited = once(child, "exit").finally(() => log.close());
  }

  /** Waits until the CRI plugin answers and reports its network ready (the conflist loaded). */
  async waitReady(crictl: Crictl, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(`containerd exited during start:\n${await this.logTail()}`);
      try {
        const info = JSON.parse(await crictl.run(["info"])) as {
          status?: { conditions?: { type: string; status: boolean }[] };
        };
        const conds = info.status?.conditions ?? [];
        if (conds.length > 0 && conds.every((c) => c.status)) return;
        last = JSON.stringify(conds);
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`containerd not ready: ${last}\n${await this.logTail()}`);
  }

  async logTail(): Promise<string> {
    const text = await fs.readFile(this.layout.log, "utf8").catch(() => "");
    return text.slice(-3000);
  }

  /** SIGTERM by PID, SIGKILL after 15 s. Its shims outlive it by design: remove pods first. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || !this.running) return;
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
