// Two berthd never share a socket, a root or a state dir, and a configuration error stops
// berthd before it changes anything: the second daemon or the bad config exits non-zero with
// one clear line, and the first daemon keeps serving on its socket.
import { spawn } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { repoRoot } from "../../src/repo-root.js";
import { Berthd } from "../support/berthd.js";

interface Run {
  code: number | null;
  stderr: string;
}

/** Runs bin/berthd to its end (it must exit on its own), with its stderr. */
function runBerthd(args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot(), "bin", "berthd"), args, {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`berthd did not exit within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function flags(p: { listen: string; root: string; state: string; metrics?: string }): string[] {
  return [
    "--config",
    "/dev/null",
    "--listen",
    p.listen,
    "--root",
    p.root,
    "--state",
    p.state,
    "--metrics-address",
    p.metrics ?? "",
    "--log-level",
    "warn",
  ];
}

describe("berthd: exclusive paths and early configuration checks", function () {
  this.timeout(60_000);
  let first: Berthd;
  let dir: string;
  before(async () => {
    first = await Berthd.start();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-test-excl-"));
  });
  after(async () => {
    await first?.cleanup();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function expectFirstServing(): Promise<void> {
    expect(first.running).to.equal(true);
    expect((await fs.lstat(first.socket)).isSocket()).to.equal(true);
    const v = await first.client.call.Version({}, { timeoutMs: 2000 });
    expect(v.runtime_name).to.equal("berth");
  }

  const cases: [string, () => Parameters<typeof flags>[0], RegExp][] = [
    [
      "the same socket",
      () => ({ listen: first.socket, root: path.join(dir, "r1"), state: path.join(dir, "s1") }),
      /socket .* is in use by another berthd \(pid \d+/,
    ],
    [
      "the same root",
      () => ({ listen: path.join(dir, "b2.sock"), root: first.root, state: path.join(dir, "s2") }),
      /root .* is in use by another berthd/,
    ],
    [
      "the same state dir",
      () => ({ listen: path.join(dir, "b3.sock"), root: path.join(dir, "r3"), state: first.state }),
      /state .* is in use by another berthd/,
    ],
  ];
  for (const [what, paths, message] of cases) {
    it(`a second berthd on ${what} exits non-zero and the first keeps serving`, async () => {
      const p = paths();
      const run = await runBerthd(flags(p));
      expect(run.code, run.stderr).to.not.equal(0);
      expect(run.stderr).to.match(message);
      await expectFirstServing();
      // Nothing of the second daemon's own is left behind to confuse a later start.
      expect(existsSync(p.listen) && p.listen !== first.socket).to.equal(false);
    });
  }

  it("a berthd killed with -9 leaves locks that the next start takes over", async () => {
    const b = await Berthd.start({ metrics: false });
    try {
      await b.kill9();
      expect(existsSync(path.join(b.root, "berthd.lock"))).to.equal(true);
      await b.launch();
      expect((await b.client.call.Version({})).runtime_name).to.equal("berth");
    } finally {
      await b.cleanup();
    }
  });

  it("an invalid cni.subnet: one line naming the key, no directory made", async () => {
    const conf = path.join(dir, "bad-subnet.toml");
    await fs.writeFile(conf, '[cni]\nsubnet = "10.0.0.300/16"\n');
    const root = path.join(dir, "r-subnet");
    const state = path.join(dir, "s-subnet");
    const args = flags({ listen: path.join(dir, "subnet.sock"), root, state });
    args[1] = conf;
    const run = await runBerthd(args);
    expect(run.code).to.equal(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines, run.stderr).to.have.length(1);
    expect(lines[0]).to.include("cni.subnet").and.include("10.0.0.300/16");
    expect(run.stderr).to.not.include("usage:");
    expect(existsSync(root)).to.equal(false);
    expect(existsSync(state)).to.equal(false);
    expect(existsSync(path.join(dir, "subnet.sock"))).to.equal(false);
  });

  it("a metrics port in use: exits non-zero naming metrics_address before making any dir", async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as net.AddressInfo).port;
    const root = path.join(dir, "r-port");
    const state = path.join(dir, "s-port");
    const sock = path.join(dir, "port", "b.sock");
    try {
      const run = await runBerthd(
        flags({ listen: sock, root, state, metrics: `127.0.0.1:${port}` }),
      );
      expect(run.code, run.stderr).to.not.equal(0);
      expect(run.stderr).to.include("metrics_address").and.include("EADDRINUSE");
      expect(existsSync(root)).to.equal(false);
      expect(existsSync(state)).to.equal(false);
      expect(existsSync(path.dirname(sock))).to.equal(false);
    } finally {
      busy.close();
    }
  });
});
