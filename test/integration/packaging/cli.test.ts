// berthd's operator commands on this host: `config default` is deploy/berth.toml, key for key;
// `config check` validates; `check` reports the cgroup layout and what it means for crun and
// exits 0 when nothing FAILs, and FAILs (non-zero) when conmon is missing.
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type * as SmolToml from "smol-toml" with { "resolution-mode": "import" };
import { repoRoot } from "../../../src/repo-root.js";
import { loadCgroupSetup } from "../../../src/cgroup/detect-setup.js";
import { BERTHD, run } from "./helpers.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse: parseToml } = require("smol-toml") as typeof SmolToml;

describe("packaging: berthd config and check on this host", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cli-"));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("berthd config default equals deploy/berth.toml in every key and value", async () => {
    const out = run(BERTHD, ["config", "default"]);
    expect(out.code, out.stderr).to.equal(0);
    const file = await fs.readFile(path.join(repoRoot(), "deploy/berth.toml"), "utf8");
    const printed = parseToml(out.stdout);
    expect(printed).to.deep.equal(parseToml(file));
    expect(Object.keys(printed)).to.include.members(["listen", "runtimes", "cni", "streaming"]);
  });

  it("berthd config check accepts a valid file and names the key of a bad one", async () => {
    const good = path.join(dir, "good.toml");
    await fs.writeFile(good, 'log_level = "debug"\n[cni]\nbridge = "br-x"\n');
    const ok = run(BERTHD, ["config", "check", good]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/is valid/);
    expect(ok.stdout).to.match(/^log_level = "debug"$/m);
    expect(ok.stdout).to.match(/^bridge = "br-x"$/m);
    expect(ok.stdout).to.match(/^default_conf_dir = "\/var\/lib\/berth\/cni\/net.d"$/m);

    const bad = path.join(dir, "bad.toml");
    await fs.writeFile(bad, "[streaming]\nmax_sesions = 3\n");
    const no = run(BERTHD, ["config", "check", bad]);
    expect(no.code).to.equal(1);
    expect(no.stderr).to.match(/streaming\.max_sesions: unknown configuration key/);
  });

  it("berthd check reports the cgroup layout, crun's verdict with its reason, and exits 0", async function () {
    if (process.getuid?.() !== 0) this.skip();
    const setup = await loadCgroupSetup();
    const out = run(BERTHD, ["check"]);
    expect(out.code, out.stdout + out.stderr).to.equal(0);
    expect(out.stdout).not.to.match(/^FAIL/m);
    const layout = /^(OK|WARN) +cgroups: (\S+) /m.exec(out.stdout);
    expect(layout, out.stdout).to.not.equal(null);
    expect(layout![2]).to.equal(setup.mode);
    // Another test may lend hugetlb to v1 for a while, which makes crun usable: either verdict
    // is right then, but a WARN must say why.
    const crun = /^(OK|WARN) +runtime crun: (.*)$/m.exec(out.stdout);
    expect(crun, out.stdout).to.not.equal(null);
    if (crun![1] === "WARN") {
      expect(crun![2]).to.match(/cannot run containers here: cannot create a container: .+/);
      if (setup.mode === "hybrid") expect(crun![2]).to.match(/hybrid/);
    } else {
      expect(crun![2]).to.match(/creates containers/);
    }
    if (setup.mode === "hybrid" && layout![1] === "WARN") {
      expect(out.stdout).to.match(/cgroups: hybrid .*crun 1\.8 refuses/);
    }
    expect(out.stdout).to.match(/^OK +runtime runc: .*creates containers; rro mounts: no/m);
    // koffi loads from the installed tree: berthd mounts without mount(8).
    expect(out.stdout).to.match(/^OK +mount calls: mount\(2\) and umount2\(2\) from berthd/m);
    for (const item of [
      "kernel overlayfs",
      "kernel namespaces",
      "kernel seccomp",
      "catatonit",
      "iptables",
      "nsenter",
      "socat",
      "chattr",
      "cni config",
      "socket",
      "root dir",
      "state dir",
      "metrics address",
      "streaming address",
    ]) {
      expect(out.stdout).to.match(new RegExp(`^(OK|WARN|FAIL) +${item}: `, "m"));
    }
    expect(out.stdout).to.match(/^ {2}cgroupDriver: cgroupfs$/m);
  });

  it("berthd check FAILs and exits non-zero when conmon is missing", async function () {
    if (process.getuid?.() !== 0) this.skip();
    const cfg = path.join(dir, "no-conmon.toml");
    await fs.writeFile(cfg, `conmon_path = "${path.join(dir, "no-such-conmon")}"\n`);
    const out = run(BERTHD, ["check", "--config", cfg]);
    expect(out.code).to.equal(1);
    expect(out.stdout).to.match(
      /^FAIL conmon: .*no-such-conmon not found: no container can start; to do: /m,
    );
    expect(out.stdout).to.match(/\d+ FAIL: berthd cannot run pods here/);
  });
});
