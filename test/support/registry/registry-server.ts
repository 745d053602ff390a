// Starts Debian's docker-registry (distribution 2.8) on 127.0.0.1 for integration tests, with a
// temporary storage directory, optional htpasswd or token authentication, and a counting,
// fault-injecting proxy in front. Clients talk to `host`; pushes go straight to the registry.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ProcessRunner, runChecked, type CommandRunner } from "../../../src/util/command.js";
import { FaultProxy, type ProxyFaults } from "./fault-proxy.js";
import { RegistryPusher, type PushCredentials } from "./pusher.js";
import { TOKEN_ISSUER, TOKEN_SERVICE, startTokenServer, type TokenServer } from "./token-server.js";
import { freePort } from "../free-port.js";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";

export interface StartRegistryOptions {
  /** Require these credentials (Basic auth; with tokenAuth, at the token server). */
  htpasswd?: { user: string; pass: string };
  /** Bearer token auth through a test token server. */
  tokenAuth?: boolean;
  runner?: CommandRunner;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` of the proxy: what clients pull from. */
  host: string;
  url: string;
  /** The registry's own address, bypassing the proxy. */
  directUrl: string;
  credentials?: PushCredentials;
  pusher: RegistryPusher;
  proxy: FaultProxy;
  /** Faults the proxy injects into blob downloads; assign to change. */
  setFaults(f: ProxyFaults): void;
  /** Requests the proxy saw whose path matches. */
  requestCount(path: RegExp): number;
  tokenRequestCount(): number;
  /** SIGKILLs the registry process (the proxy stays up and fails what it forwards). */
  kill(): Promise<void>;
  /** Starts the registry again on the same port and storage. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await fs.readFile(logPath, "utf8").catch(() => "");
      throw new Error(`docker-registry exited early: ${log.slice(-2000)}`);
    }
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`docker-registry at ${url} did not become ready`);
}

function configYaml(opts: {
  port: number;
  storage: string;
  htpasswdPath?: string;
  token?: { realm: string; bundle: string };
}): string {
  const lines = [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${opts.storage}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: 127.0.0.1:${opts.port}`,
    "  secret: berth-test-secret",
  ];
  if (opts.token) {
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${opts.token.realm}`,
      `    service: ${TOKEN_SERVICE}`,
      `    issuer: ${TOKEN_ISSUER}`,
      `    rootcertbundle: ${opts.token.bundle}`,
    );
  } else if (opts.htpasswdPath) {
    lines.push("auth:", "  htpasswd:", "    realm: berth-test", `    path: ${opts.htpasswdPath}`);
  }
  return lines.join("\n") + "\n";
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const runner = opts.runner ?? new ProcessRunner();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-registry-"));
  const storage = path.join(dir, "storage");
  await fs.mkdir(storage);
  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;
  let proxy: FaultProxy | undefined;
  const credentials = opts.htpasswd
    ? { username: opts.htpasswd.user, password: opts.htpasswd.pass }
    : undefined;

  const cleanup = async (): Promise<void> => {
    await proxy?.stop();
    await stopChild(child);
    await tokenServer?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  };

  try {
    let htpasswdPath: string | undefined;
    let token: { realm: string; bundle: string } | undefined;
    if (opts.tokenAuth) {
      const keyPath = path.join(dir, "token.key");
      const certPath = path.join(dir, "token.crt");
      await runChecked(runner, "openssl", [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        keyPath,
        "-out",
        certPath,
        "-days",
        "2",
        "-subj",
        "/CN=berth-test-token-issuer",
      ]);
      tokenServer = await startTokenServer({
        certPem: await fs.readFile(certPath, "utf8"),
        keyPem: await fs.readFile(keyPath, "utf8"),
        user: credentials,
      });
      token = { realm: tokenServer.realm, bundle: certPath };
    } else if (opts.htpasswd) {
      const res = await runChecked(runner, "htpasswd", [
        "-Bbn",
        opts.htpasswd.user,
        opts.htpasswd.pass,
      ]);
      htpasswdPath = path.join(dir, "htpasswd");
      await fs.writeFile(htpasswdPath, res.stdout);
    }
    const port = await freePort();
    const configPath = path.join(dir, "config.yml");
    await fs.writeFile(configPath, configYaml({ port, storage, htpasswdPath, token }));
    const logPath = path.join(dir, "registry.log");
    const directUrl = `http://127.0.0.1:${port}`;

    const launch = async (): Promise<void> => {
      const log = createWriteStream(logPath, { flags: "a" });
      await new Promise((r) => log.once("open", r));
      const c = spawn(REGISTRY_BINARY, ["serve", configPath], { stdio: ["ignore", log, log] });
      child = c;
      c.once("exit", () => log.close());
      await waitReady(directUrl, c, logPath);
    };
    await launch();
    const p = new FaultProxy(port);
    proxy = p;
    await p.start();
    const host = `127.0.0.1:${p.port}`;
    return {
      host,
      url: `http://${host}`,
      directUrl,
      credentials,
      pusher: new RegistryPusher(directUrl, credentials),
      proxy: p,
      setFaults: (f) => {
        p.faults = f;
      },
      requestCount: (re) => p.count(re),
      tokenRequestCount: () => tokenServer?.requestCount() ?? 0,
      kill: async () => {
        await stopChild(child);
        child = undefined;
      },
      restart: async () => {
        await stopChild(child);
        await launch();
      },
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** SIGKILLs the registry this module started (by its PID) and waits for it to exit. */
async function stopChild(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
  c.kill("SIGKILL");
  await exited;
}
