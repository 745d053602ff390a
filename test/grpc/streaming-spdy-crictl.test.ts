// berth's SPDY transport against the real client: crictl (cri-tools v1.32, client-go and
// moby/spdystream inside) gets stream URLs from berth's gRPC server and talks SPDY/3.1 to a test
// HTTP server that hands the upgraded connection to serveSpdyRemoteCommand / serveSpdyPortForward.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { SpdyStreamEnv } from "../support/spdy-stream-env.js";

const CRICTL = "/work/shared/conformance/bin/crictl";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function crictlArgs(env: SpdyStreamEnv, args: string[]): string[] {
  const ep = `unix://${env.socket}`;
  return ["--runtime-endpoint", ep, "--image-endpoint", ep, "--timeout", "10s", ...args];
}

function crictl(env: SpdyStreamEnv, args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const p = execFile(
      CRICTL,
      crictlArgs(env, args),
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: unknown }).code ?? -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) p.stdin?.end(input);
  });
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends `data` through 127.0.0.1:port and collects what comes back until it all has. */
async function roundTrip(port: number, data: Buffer): Promise<Buffer> {
  const sock = net.connect(port, "127.0.0.1");
  await once(sock, "connect");
  const got: Buffer[] = [];
  let n = 0;
  const done = new Promise<void>((resolve, reject) => {
    sock.on("data", (c: Buffer) => {
      got.push(c);
      n += c.length;
      if (n >= data.length) resolve();
    });
    sock.on("error", reject);
    sock.on("close", () => resolve());
  });
  sock.write(data);
  await done;
  sock.destroy();
  return Buffer.concat(got);
}

describe("SPDY transport with the real crictl", function () {
  this.timeout(60_000);
  let env: SpdyStreamEnv;
  const children: ChildProcess[] = [];

  before(function () {
    if (!existsSync(CRICTL)) this.skip();
  });
  beforeEach(async () => {
    env = await SpdyStreamEnv.start();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        process.kill(c.pid, "SIGKILL");
        await once(c, "exit");
      }
    }
    await env?.cleanup();
  });

  it("crictl exec prints the output and exits 0", async () => {
    const r = await crictl(env, ["exec", "--transport", "spdy", "c1", "echo", "hello", "spdy"]);
    expect(r.stdout).to.equal("hello spdy\n");
    expect(r.code, r.stderr).to.equal(0);
    expect(env.protocols[0]).to.match(/^v[45]\.channel\.k8s\.io$/);
    await waitFor("the session to end", () => env.active === 0);
  });

  it("a non-zero exit code reaches crictl with the command's stderr", async () => {
    const r = await crictl(env, ["exec", "--transport", "spdy", "c1", "fail"]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include("something failed\n");
    expect(r.stderr).to.include("command terminated with exit code 3");
  });

  it("stdin round trip: echo data | crictl exec -i", async () => {
    const input = `${"line of input ".repeat(8)}\n`.repeat(2000); // ~230 KB, past any window
    const r = await crictl(env, ["exec", "-i", "--transport", "spdy", "c1", "cat"], input);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.length).to.equal(input.length);
    expect(r.stdout === input).to.equal(true);
  });

  it("crictl exec -it under a pty sends its terminal size on the resize stream", async function () {
    if (!existsSync("/usr/bin/script")) this.skip();
    const cmd = [
      CRICTL,
      ...crictlArgs(env, ["exec", "-it", "--transport", "spdy", "c1", "resize"]),
    ];
    const child = spawn(
      "/usr/bin/script",
      ["-qec", `stty rows 33 cols 111; exec ${cmd.join(" ")}`, "/dev/null"],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    children.push(child);
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(out).to.include("size 111x33");
    expect(code, out).to.equal(0);
    expect(env.sizes[0]).to.deep.equal({ width: 111, height: 33 });
  });

  it("crictl port-forward: a 1 MiB round trip intact, two connections at once", async () => {
    const child = spawn(CRICTL, crictlArgs(env, ["port-forward", "pod1", "0:80"]), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    await waitFor("crictl to listen", () => /Forwarding from 127\.0\.0\.1:\d+/.test(out));
    const localPort = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    const a = randomBytes(1024 * 1024);
    const b = randomBytes(1024 * 1024);
    const [ra, rb] = await Promise.all([roundTrip(localPort, a), roundTrip(localPort, b)]);
    expect(ra.length).to.equal(a.length);
    expect(ra.equals(a)).to.equal(true);
    expect(rb.equals(b)).to.equal(true);
    // The session outlives each connection: a third one still works.
    const c = randomBytes(4096);
    expect((await roundTrip(localPort, c)).equals(c)).to.equal(true);
    expect(env.active).to.equal(1);
  });
});
