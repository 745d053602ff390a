// `make install DESTDIR=tmp` lays out the package's files under tmp and `make uninstall` takes
// every one of them away again: tmp ends empty. An operator's own file in a directory berth
// made survives the uninstall (and keeps that directory).
import { promises as fs, readdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { run, runOk } from "./helpers.js";

function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe("packaging: make install / make uninstall", function () {
  this.timeout(300_000);
  let tmp: string;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-install-"));
  });
  after(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it("install lays out berthd, the unit, the config and the docs; uninstall leaves tmp empty", () => {
    runOk("make", [
      "--no-print-directory",
      "-o",
      "build",
      "install",
      `DESTDIR=${tmp}`,
      "PREFIX=/usr/local",
    ]);
    const files = tree(tmp);
    for (const f of [
      "usr/local/bin/berthd",
      "usr/local/lib/berth/dist/src/main.js",
      "usr/local/lib/berth/node_modules/@grpc/grpc-js/package.json",
      "usr/local/lib/systemd/system/berthd.service",
      "usr/local/share/doc/berth/crictl.yaml",
      "usr/local/share/man/man8/berthd.8",
      "etc/berth/berth.toml",
    ]) {
      expect(files, f).to.include(f);
    }
    expect(files.some((f) => f.includes("node_modules/typescript"))).to.equal(false);
    const unit = runOk("cat", [path.join(tmp, "usr/local/lib/systemd/system/berthd.service")]);
    expect(unit).to.match(/^ExecStart=\/usr\/local\/bin\/berthd --config /m);
    // The staged berthd runs (the symlink resolves inside the staging tree).
    const version = runOk(path.join(tmp, "usr/local/bin/berthd"), ["--version"]);
    expect(version).to.match(/^berth \d+\.\d+\.\d+/m);

    const out = run("make", [
      "--no-print-directory",
      "uninstall",
      `DESTDIR=${tmp}`,
      "PREFIX=/usr/local",
    ]);
    expect(out.code, out.stdout + out.stderr).to.equal(0);
    expect(tree(tmp)).to.deep.equal([]);
  });

  it("uninstall keeps an operator's file and the directory holding it, and an existing config", async () => {
    await fs.mkdir(path.join(tmp, "etc/berth"), { recursive: true });
    await fs.writeFile(path.join(tmp, "etc/berth/berth.toml"), 'log_level = "debug"\n');
    runOk("make", [
      "--no-print-directory",
      "-o",
      "build",
      "install",
      `DESTDIR=${tmp}`,
      "PREFIX=/opt/berth",
    ]);
    expect(await fs.readFile(path.join(tmp, "etc/berth/berth.toml"), "utf8")).to.equal(
      'log_level = "debug"\n',
    );
    await fs.writeFile(path.join(tmp, "opt/berth/share/doc/berth/NOTES"), "mine\n");
    runOk("make", [
      "--no-print-directory",
      "-o",
      "build",
      "uninstall",
      `DESTDIR=${tmp}`,
      "PREFIX=/opt/berth",
    ]);
    expect(tree(tmp)).to.deep.equal([
      "etc",
      "etc/berth",
      "etc/berth/berth.toml",
      "opt",
      "opt/berth",
      "opt/berth/share",
      "opt/berth/share/doc",
      "opt/berth/share/doc/berth",
      "opt/berth/share/doc/berth/NOTES",
    ]);
  });
});
