// The package's maintainer scripts with systemctl and debhelper's helpers replaced by stubs that
// record their calls: where systemd does not run they call nothing; where it runs (faked with a
// tmpfs over /run/systemd in a private mount namespace, so the host never sees it) a first
// install enables and starts berthd, an upgrade only try-restarts it, and a removal stops it.
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { repoRoot } from "../../../src/repo-root.js";
import { run } from "./helpers.js";

const STUBS = ["systemctl", "deb-systemd-helper", "deb-systemd-invoke"];

describe("packaging: maintainer scripts", function () {
  this.timeout(60_000);
  let dir: string;
  let log: string;
  let hostSystemd = false;
  const systemdRuns = () =>
    fs.stat("/run/systemd/system").then(
      () => true,
      () => false,
    );

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    hostSystemd = await systemdRuns();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-maint-"));
    log = path.join(dir, "calls.log");
    await fs.mkdir(path.join(dir, "bin"));
    for (const s of STUBS) {
      await fs.writeFile(path.join(dir, "bin", s), `#!/bin/sh\necho "${s} $*" >>"${log}"\n`, {
        mode: 0o755,
      });
    }
  });
  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** Runs deploy/debian/SCRIPT ARGS; with `systemd`, in a mount namespace where it "runs". */
  async function calls(script: string, args: string[], systemd: boolean): Promise<string[]> {
    await fs.rm(log, { force: true });
    const file = path.join(repoRoot(), "deploy", "debian", script);
    const env = { PATH: `${dir}/bin:${process.env.PATH ?? ""}` };
    const quoted = args.map((a) => `'${a}'`).join(" ");
    const r = systemd
      ? run(
          "unshare",
          [
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            `mkdir -p /run/systemd && mount -t tmpfs berth-test /run/systemd && mkdir /run/systemd/system && sh '${file}' ${quoted}`,
          ],
          env,
        )
      : run("sh", [file, ...args], env);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const text = await fs.readFile(log, "utf8").catch(() => "");
    return text.split("\n").filter((l) => l !== "");
  }

  it("call nothing where systemd does not run", async function () {
    if (hostSystemd) this.skip();
    expect(await calls("postinst", ["configure", ""], false)).to.deep.equal([]);
    expect(await calls("postinst", ["configure", "0.0.1"], false)).to.deep.equal([]);
    expect(await calls("prerm", ["remove"], false)).to.deep.equal([]);
    expect(await calls("postrm", ["remove"], false)).to.deep.equal([]);
    expect(await calls("postrm", ["purge"], false)).to.deep.equal([]);
  });

  it("where systemd runs: a first install enables and starts berthd", async () => {
    expect(await calls("postinst", ["configure", ""], true)).to.deep.equal([
      "systemctl --system daemon-reload",
      "deb-systemd-helper enable berthd.service",
      "deb-systemd-invoke start berthd.service",
    ]);
    // The fake systemd was private to that namespace.
    expect(await systemdRuns()).to.equal(hostSystemd);
  });

  it("where systemd runs: an upgrade restarts berthd only if it was running, enables nothing", async () => {
    expect(await calls("postinst", ["configure", "0.0.1"], true)).to.deep.equal([
      "systemctl --system daemon-reload",
      "deb-systemd-invoke try-restart berthd.service",
    ]);
    expect(await calls("prerm", ["upgrade", "0.0.2"], true)).to.deep.equal([]);
  });

  it("where systemd runs: removal stops berthd (only berthd: KillMode=process) and reloads", async () => {
    expect(await calls("prerm", ["remove"], true)).to.deep.equal([
      "deb-systemd-invoke stop berthd.service",
    ]);
    expect(await calls("postrm", ["remove"], true)).to.deep.equal([
      "systemctl --system daemon-reload",
    ]);
  });
});
