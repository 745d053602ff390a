// Runs a real berthd (the built bin/berthd) for a test, with every path under a temporary
// directory, so several can run side by side. Collects its log for failure messages.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CriClient } from "../../src/client/cri-client.js";
import { repoRoot } from "../../src/repo-root.js";

export interface BerthdOptions {
  /** Extra TOML appended to the generated config (paths are set already). */
  configToml?: string;
  /** Serve /metrics on a free loopback port (default true). */
  metrics?: boolean;
  logLevel?: string;
  /** The berthd program to run (default: the checkout's bin/berthd), e.g. an installed one. */
  bin?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
}

export class Berthd {
  readonly socket: string;
  readonly root: string;
  readonly state: string;
  readonly cniConfDir: string;
  readonly configFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<ExitInfo> | undefined;
  private logLines: string[] = [];
  metricsPort: number | undefined;
  client: CriClient;

  private constructor(
    readonly dir: string,
    readonly bin: string,
  ) {
    this.socket = path.join(dir, "berth.sock");
    this.root = path.join(dir, "root");
    this.state = path.join(dir, "state");
    this.cniConfDir = path.join(dir, "cni-conf");
    this.configFile = path.join(dir, "berth.toml");
    this.client = new CriClient(this.socket);
  }

  static async start(opts: BerthdOptions = {}): Promise<Berthd> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-test-"));
    const b = new Berthd(dir, opts.bin ?? path.join(repoRoot(), "bin", "berthd"));
    const toml = [
      `listen = "${b.socket}"`,
      `root = "${b.root}"`,
      `state = "${b.state}"`,
      `log_level = "${opts.logLevel ?? "debug"}"`,
      `metrics_address = "${opts.metrics === false ? "" : "127.0.0.1:0"}"`,
      opts.configToml ?? "",
    ];
    if (!/^\s*\[cni\]/m.test(opts.configToml ?? "")) {
      toml.push(`[cni]`, `conf_dir = "${b.cniConfDir}"`, `default_network = false`);
    }
    await fs.writeFile(b.configFile, toml.join("\n") + "\n");
    await b.launch();
    return b;
  }

  get logs(): string {
    return this.logLines.join("\n");
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /**
   * Starts berthd with the same config and waits until it answers Version. `env` is added to
   * its environment (e.g. BERTH_TEST_PAUSE_AT for the chaos suite).
   */
  async launch(env: Record<string, string> = {}): Promise<void> {
    const child = spawn(this.bin, ["--config", this.configFile], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    this.child = child;
    const started = Date.now();
    this.exited = once(child, "exit").then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      ms: Date.now() - started,
    }));
    const onData = (buf: Buffer) => {
      for (const line of buf.toString("utf8").split("\n")) {
        if (line === "") continue;
        this.logLines.push(line);
        const m = /"address":"127\.0\.0\.1:(\d+)".*metrics endpoint listening/.exec(line);
        if (m) this.metricsPort = Number(m[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    await this.waitReady(30_000);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`berthd exited during start:\n${this.logs}`);
      try {
        this.client.close();
        this.client = new CriClient(this.socket);
        await this.client.call.Version({}, { timeoutMs: 1000 });
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`berthd not ready: ${String(err)}\n${this.logs}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Waits until a log line matches `re` (resolves with it), or throws after `timeoutMs`. */
  async waitForLog(re: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logLines.find((l) => re.test(l));
      if (line !== undefined) return line;
      if (Date.now() > deadline) throw new Error(`no log line matches ${String(re)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Forgets the log collected so far (so a wait matches only what comes next). */
  clearLog(): void {
    this.logLines = [];
  }

  /** SIGTERM and wait for exit. */
  async stop(): Promise<ExitInfo> {
    const exited = this.exited;
    if (!this.running || !exited) return exited ? await exited : { code: 0, signal: null, ms: 0 };
    const t0 = Date.now();
    this.child?.kill("SIGTERM");
    const info = await exited;
    this.client.close();
    return { ...info, ms: Date.now() - t0 };
  }

  /** kill -9, as a crash. */
  async kill9(): Promise<void> {
    if (!this.running || !this.exited) return;
    this.child?.kill("SIGKILL");
    await this.exited;
    this.client.close();
  }

  async metricsText(): Promise<string> {
    if (this.metricsPort === undefined) throw new Error("metrics disabled");
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return res.text();
  }

  /** Stops berthd if needed and removes its temp dir. */
  async cleanup(): Promise<void> {
    await this.stop();
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
