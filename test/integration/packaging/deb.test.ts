// The Debian package end to end: `make deb`'s script builds it; its control fields and files
// are what they should be; it installs with dpkg -i on a host without systemd; the installed
// berthd answers --version and check, pulls an image and runs a pod; installing a newer
// package while the pod runs keeps its container running (same pid) across berthd's restart;
// dpkg --purge leaves no file of the package. The machine is left as it was: the package is
// purged whatever happens, and a berth already installed as a package is never touched.
import { existsSync, lstatSync, readFileSync, readdirSync } from "node:fs";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { repoRoot } from "../../../src/repo-root.js";
import { eventually, type PodEnv, runPodWith, startPodEnv } from "../../support/pod-env.js";
import { controlFields, dpkgInstalled, type Ran, run, runAsync, runOk } from "./helpers.js";

const INSTALLED = "/usr/bin/berthd";
const PKG_VERSION = (
  JSON.parse(readFileSync(path.join(repoRoot(), "package.json"), "utf8")) as { version: string }
).version;
// Two builds of this tree, the second newer (Debian orders ~ before anything).
const V1 = `${PKG_VERSION}~test1`;
const V2 = `${PKG_VERSION}~test2`;
// Where systemd would record an enabled unit; the maintainer scripts must not touch them here.
const SYSTEMD_STATE = ["/etc/systemd/system", "/var/lib/systemd/deb-systemd-helper-enabled"];

function listing(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }).map(String).sort();
  } catch {
    return [];
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Paths in `dpkg-deb -c` output ("./usr/bin/berthd -> ..." → "/usr/bin/berthd"). */
function debPaths(listingText: string): string[] {
  return listingText
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const name = l
        .split(/\s+/)
        .slice(5)
        .join(" ")
        .replace(/ -> .*$/, "");
      return name.replace(/^\./, "").replace(/\/$/, "") || "/";
    });
}

describe("packaging: the berth .deb, installed, upgraded and purged with dpkg", function () {
  this.timeout(600_000);
  let dir: string;
  let deb1: string;
  let deb2: string;
  let installedByUs = false;
  let lintian: Promise<Ran> | undefined;
  let env: PodEnv | undefined;
  let ownedPaths: string[] = [];
  const preExisting = new Set<string>();
  const systemdBefore = SYSTEMD_STATE.map(listing);

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    if (dpkgInstalled("berth")) {
      // Never replace or purge a berth someone installed on this machine.
      console.log("    skipped: berth is already installed as a package on this machine");
      this.skip();
    }
    if (existsSync(INSTALLED)) {
      console.log(`    skipped: ${INSTALLED} exists (berth installed without dpkg?)`);
      this.skip();
    }
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-deb-"));
    const build = (v: string) =>
      runOk(path.join(repoRoot(), "scripts", "build-deb.sh"), [dir], { DEB_VERSION: v }).trim();
    deb1 = build(V1);
    // lintian takes half a minute: it runs while the install tests below do.
    lintian = runAsync("lintian", ["--tag-display-limit", "0", deb1]);
    deb2 = build(V2);
  });

  after(async () => {
    try {
      await env?.cleanup();
    } finally {
      if (installedByUs && dpkgInstalled("berth")) run("dpkg", ["--purge", "berth"]);
      await lintian?.catch(() => undefined);
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("is named berth_<version>_<arch>.deb and its control fields name what berth runs", () => {
    const arch = runOk("dpkg", ["--print-architecture"]).trim();
    expect(path.basename(deb1)).to.equal(`berth_${V1}_${arch}.deb`);
    const info = runOk("dpkg-deb", ["-I", deb1]);
    const f = controlFields(info);
    expect([f.Package, f.Version, f.Architecture]).to.deep.equal(["berth", V1, arch]);
    const depends = (f.Depends ?? "").split(",").map((d) => d.trim());
    for (const d of [
      "nodejs (>= 20)",
      "runc | crun",
      "conmon",
      "catatonit",
      "containernetworking-plugins",
      "iptables",
      "iproute2",
      "socat",
    ]) {
      expect(depends, `Depends: ${f.Depends}`).to.include(d);
    }
    expect(depends.some((d) => d.startsWith("util-linux"))).to.equal(true);
    // chattr, for a placement hint only: berth runs without it.
    expect(f.Recommends).to.equal("e2fsprogs");
    expect(f.Maintainer).to.match(/<[^@>]+@[^>]+>/);
    expect(f.Description).to.match(/CRI/);
    // The maintainer scripts and the conffile are in the control archive.
    for (const member of ["postinst", "prerm", "postrm", "conffiles", "md5sums"]) {
      expect(info).to.match(new RegExp(`\\s${member}\\s`));
    }
    const tmp = path.join(dir, "ctrl");
    runOk("dpkg-deb", ["-e", deb1, tmp]);
    expect(readFileSync(path.join(tmp, "conffiles"), "utf8").trim()).to.equal(
      "/etc/berth/berth.toml",
    );
  });

  it("holds the compiled JS, production dependencies only, the unit, the config and the docs", () => {
    const paths = debPaths(runOk("dpkg-deb", ["-c", deb1]));
    for (const p of [
      "/usr/lib/berth/dist/src/main.js",
      "/usr/lib/berth/package.json",
      "/usr/lib/berth/proto/runtime/v1/api.proto",
      "/usr/lib/berth/bin/berthd",
      "/usr/lib/berth/node_modules/@grpc/grpc-js/package.json",
      "/usr/lib/berth/node_modules/smol-toml/package.json",
      "/usr/bin/berthd",
      "/lib/systemd/system/berthd.service",
      "/etc/berth/berth.toml",
      "/usr/share/doc/berth/crictl.yaml",
      "/usr/share/doc/berth/copyright",
      "/usr/share/doc/berth/changelog.gz",
      "/usr/share/man/man8/berthd.8.gz",
    ]) {
      expect(paths, p).to.include(p);
    }
    // Development tools, tests and source maps stay out.
    for (const dev of ["typescript", "mocha", "eslint", "chai", "prettier"]) {
      expect(paths).not.to.include(`/usr/lib/berth/node_modules/${dev}`);
    }
    expect(paths.filter((p) => p.startsWith("/usr/lib/berth/dist/test"))).to.deep.equal([]);
    const own = paths.filter((p) => p.startsWith("/usr/lib/berth/dist/"));
    expect(own.filter((p) => p.endsWith(".map") || p.endsWith(".ts"))).to.deep.equal([]);

    const x = path.join(dir, "x");
    runOk("dpkg-deb", ["-x", deb1, x]);
    expect(readFileSync(path.join(x, "etc/berth/berth.toml"), "utf8")).to.equal(
      readFileSync(path.join(repoRoot(), "deploy/berth.toml"), "utf8"),
    );
    const unit = readFileSync(path.join(x, "lib/systemd/system/berthd.service"), "utf8");
    expect(unit).to.match(/^ExecStart=\/usr\/bin\/berthd --config \/etc\/berth\/berth.toml$/m);
    // Only berthd stops on a restart: conmon and the containers keep running.
    expect(unit).to.match(/^KillMode=process$/m);
  });

  it("installs with dpkg -i where systemd does not run, starting nothing", () => {
    for (const p of debPaths(runOk("dpkg-deb", ["-c", deb1]))) {
      if (exists(p)) preExisting.add(p);
    }
    installedByUs = true;
    const out = run("dpkg", ["-i", deb1]);
    expect(out.code, `${out.stdout}\n${out.stderr}`).to.equal(0);
    expect(out.stderr).not.to.match(/systemctl|deb-systemd|warning/i);
    expect(runOk("dpkg-query", ["-W", "-f=${Status} ${Version}", "berth"])).to.equal(
      `install ok installed ${V1}`,
    );
    ownedPaths = runOk("dpkg", ["-L", "berth"])
      .split("\n")
      .filter((p) => p.startsWith("/"))
      .map((p) => path.posix.normalize(p));
    expect(ownedPaths).to.include(INSTALLED);
    expect(lstatSync(INSTALLED).isSymbolicLink()).to.equal(true);
    expect(SYSTEMD_STATE.map(listing)).to.deep.equal(systemdBefore);
  });

  it("the installed berthd --version names berth, the CRI API, runtimes, conmon and CNI plugins", () => {
    const out = runOk(INSTALLED, ["--version"]);
    expect(out).to.match(new RegExp(`^berth ${PKG_VERSION.replace(/\./g, "\\.")}$`, "m"));
    expect(out).to.match(/^CRI API runtime\.v1$/m);
    expect(out).to.match(/^runtime runc: runc version \S+/m);
    expect(out).to.match(/^conmon: conmon version \S+/m);
    for (const p of ["bridge", "host-local", "loopback", "portmap"]) {
      expect(out).to.match(new RegExp(`^cni ${p}: .*\\(/\\S+/${p}\\)$`, "m"));
    }
  });

  it("the installed berthd check reports on this node and prints the kubelet lines", () => {
    const out = run(INSTALLED, ["check"]);
    expect(out.code, out.stdout + out.stderr).to.equal(0);
    expect(out.stdout).to.match(/^(OK|WARN) +cgroups: (v1|v2|hybrid)/m);
    expect(out.stdout).to.match(/^OK +conmon: \/usr\/bin\/conmon/m);
    // koffi loads from /usr/lib/berth (its musl build and build tool left out): no mount(8).
    expect(out.stdout).to.match(/^OK +mount calls: .*\(koffi\)$/m);
    expect(out.stdout).to.match(
      /^ {2}containerRuntimeEndpoint: unix:\/\/\/run\/berth\/berth\.sock$/m,
    );
  });

  let podId = "";
  let ctrId = "";
  let pid = 0;

  it("the installed berthd pulls an image and runs a pod", async () => {
    env = await startPodEnv({ bin: INSTALLED });
    ({ podId, ctrId } = await runPodWith(env, "pkg", ["sleep", "3600"]));
    const c = env.berthd.client.call;
    await eventually(async () => {
      const st = await c.ContainerStatus({ container_id: ctrId, verbose: true });
      expect(st.status!.state).to.equal("CONTAINER_RUNNING");
      pid = (JSON.parse(st.info.info!) as { pid: number }).pid;
      expect(pid).to.be.greaterThan(0);
    });
    // It is the packaged code that serves the socket.
    expect(env.berthd.bin).to.equal(INSTALLED);
    const version = await c.Version({});
    expect(version.runtime_name).to.equal("berth");
  });

  it("an upgrade while the pod runs keeps its container running, same pid, across the restart", async () => {
    const e = env!;
    const out = run("dpkg", ["-i", deb2]);
    expect(out.code, `${out.stdout}\n${out.stderr}`).to.equal(0);
    expect(runOk("dpkg-query", ["-W", "-f=${Version}", "berth"])).to.equal(V2);
    // What postinst's try-restart does under systemd (KillMode=process: only berthd stops).
    await e.berthd.stop();
    process.kill(pid, 0); // the container outlived berthd
    await e.berthd.launch();
    const c = e.berthd.client.call;
    const st = await c.ContainerStatus({ container_id: ctrId, verbose: true });
    expect(st.status!.state).to.equal("CONTAINER_RUNNING");
    expect((JSON.parse(st.info.info!) as { pid: number }).pid).to.equal(pid);
    const pod = await c.PodSandboxStatus({ pod_sandbox_id: podId });
    expect(pod.status!.state).to.equal("SANDBOX_READY");
    const exec = await c.ExecSync({
      container_id: ctrId,
      cmd: ["echo", "still here"],
      timeout: 10,
    });
    expect(Buffer.from(exec.stdout).toString("utf8")).to.equal("still here\n");
  });

  it("dpkg --purge leaves no file of the package behind and no systemd state", async () => {
    await env?.cleanup();
    env = undefined;
    const out = run("dpkg", ["--purge", "berth"]);
    expect(out.code, `${out.stdout}\n${out.stderr}`).to.equal(0);
    expect(dpkgInstalled("berth")).to.equal(false);
    const left = ownedPaths.filter((p) => !preExisting.has(p) && exists(p));
    expect(left).to.deep.equal([]);
    // Directories the package shares with others (/usr/bin, /etc, ...) are still there.
    expect([...preExisting].filter((p) => !exists(p))).to.deep.equal([]);
    expect(SYSTEMD_STATE.map(listing)).to.deep.equal(systemdBefore);
  });

  it("lintian reports nothing the README does not explain", async () => {
    const out = await lintian!;
    // Tags are "E: berth: tag-name ..." lines; the README's lintian notes name each one kept.
    const tags = [...out.stdout.matchAll(/^[EWIPX]: berth[^:]*: (\S+)/gm)].map((m) => m[1]!);
    const readme = readFileSync(path.join(repoRoot(), "README.md"), "utf8");
    const notes = /## Installing[\s\S]*?(?=\n## )/.exec(readme)?.[0] ?? "";
    expect([...new Set(tags)].filter((t) => !notes.includes(t))).to.deep.equal([]);
    expect(out.code, out.stdout + out.stderr).to.equal(0);
  });
});
