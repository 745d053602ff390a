// The pure parts of `make bench vs-containerd`: the files it gives containerd (valid TOML with
// every key the benchmark relies on, all paths in its temp dir), the CNI list both runtimes get,
// and how it tells a runtime's helpers from its pods' processes and finds what to clean up.
import { expect } from "chai";
import type * as SmolToml from "smol-toml" with { "resolution-mode": "import" };
import {
  benchConflist,
  benchNetwork,
  containerdConfig,
  containerdLayout,
  registryHostsToml,
} from "../../../bench/vs-containerd/configs.js";
import {
  parseMountPoints,
  rulesToDelete,
  shimSocketPath,
} from "../../../bench/vs-containerd/host-cleanup.js";
import {
  kibField,
  runtimeProcesses,
  type ProcInfo,
} from "../../../bench/vs-containerd/processes.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse: parseToml } = require("smol-toml") as typeof SmolToml;

type Table = Record<string, unknown>;
function table(doc: Table, ...keys: string[]): Table {
  let t: unknown = doc;
  for (const k of keys) {
    expect(t, `table ${keys.join(".")}`)
      .to.be.an("object")
      .that.has.property(k);
    t = (t as Table)[k];
  }
  return t as Table;
}

describe("bench vs-containerd: containerd's config", () => {
  const layout = containerdLayout("/tmp/berth-vsbench-x/containerd");
  const text = containerdConfig({
    layout,
    sandboxImage: "127.0.0.1:5000/pause:1",
    cniBinDir: "/usr/lib/cni",
    runcPath: "/usr/sbin/runc",
    maxConcurrentDownloads: 3,
  });
  const doc = parseToml(text) as Table;
  const cri = table(doc, "plugins", "io.containerd.grpc.v1.cri");

  it("is version 2 TOML with its own socket, root, state and temp dirs", () => {
    expect(doc["version"]).to.equal(2);
    expect(table(doc, "grpc")["address"]).to.equal(
      "/tmp/berth-vsbench-x/containerd/containerd.sock",
    );
    expect(doc["root"]).to.equal("/tmp/berth-vsbench-x/containerd/root");
    expect(doc["state"]).to.equal("/tmp/berth-vsbench-x/containerd/state");
    expect(doc["temp"]).to.equal("/tmp/berth-vsbench-x/containerd/tmp");
  });

  it("keeps every path containerd would otherwise put outside the temp dir inside it", () => {
    expect(table(doc, "plugins", "io.containerd.internal.v1.opt")["path"]).to.equal(layout.opt);
    expect(cri["netns_mounts_under_state_dir"]).to.equal(true);
    const runc = table(cri, "containerd", "runtimes", "runc");
    expect(table(runc, "options")["Root"]).to.equal(layout.runcRoot);
    const paths = text.match(/"\/[^"]*"/g) ?? [];
    const outside = paths.filter((p) => !/^"\/(tmp\/berth-vsbench-x\/|usr\/)/.test(p));
    expect(outside).to.deep.equal([]);
  });

  it("runs runc v2 shims on cgroupfs with oom_score_adj restricted and the local pause image", () => {
    expect(cri["sandbox_image"]).to.equal("127.0.0.1:5000/pause:1");
    expect(cri["restrict_oom_score_adj"]).to.equal(true);
    const ctd = table(cri, "containerd");
    expect(ctd["default_runtime_name"]).to.equal("runc");
    const runc = table(ctd, "runtimes", "runc");
    expect(runc["runtime_type"]).to.equal("io.containerd.runc.v2");
    expect(table(runc, "options")["SystemdCgroup"]).to.equal(false);
    expect(table(runc, "options")["BinaryName"]).to.equal("/usr/sbin/runc");
    expect(cri["max_concurrent_downloads"]).to.equal(3);
  });

  it("loads one CNI list from its own dir and reads registries from hosts.toml files", () => {
    expect(table(cri, "cni")).to.deep.equal({
      bin_dir: "/usr/lib/cni",
      conf_dir: layout.cniConfDir,
      max_conf_num: 1,
    });
    expect(table(cri, "registry")).to.deep.equal({ config_path: layout.certsDir });
  });

  it("hosts.toml sends pulls and resolves to the registry over plain HTTP", () => {
    expect(parseToml(registryHostsToml("127.0.0.1:5000"))).to.deep.equal({
      server: "http://127.0.0.1:5000",
      host: { "http://127.0.0.1:5000": { capabilities: ["pull", "resolve"] } },
    });
  });
});

describe("bench vs-containerd: the CNI list", () => {
  it("is bridge + host-local + portmap without masquerade, on each runtime's own bridge and /24", () => {
    const b = benchNetwork("berth", "/tmp/x/berth");
    const c = benchNetwork("containerd", "/tmp/x/ctd");
    expect(b.bridge).to.not.equal(c.bridge);
    expect(b.bridge.length).to.be.at.most(15);
    expect(b.subnet).to.match(/^10\.252\.\d+\.0\/24$/);
    expect(c.subnet).to.match(/^10\.253\.\d+\.0\/24$/);
    const list = JSON.parse(benchConflist(b)) as { plugins: Table[] };
    expect(list.plugins.map((p) => p["type"])).to.deep.equal(["bridge", "portmap"]);
    const bridge = list.plugins[0]!;
    expect(bridge["bridge"]).to.equal(b.bridge);
    expect(bridge["ipMasq"]).to.equal(false);
    expect(bridge["ipam"]).to.deep.include({
      type: "host-local",
      dataDir: "/tmp/x/berth/cni-ipam",
    });
  });
});

describe("bench vs-containerd: processes and leftovers", () => {
  const host = "mnt:[1]";
  const proc = (pid: number, ppid: number, comm: string, cmdline = "", mntNs = host): ProcInfo => ({
    pid,
    ppid,
    comm,
    cmdline,
    mntNs,
  });

  it("counts the daemon, its re-parented helpers and their children, and nobody else's", () => {
    const all = [
      proc(10, 1, "containerd", "/usr/bin/containerd --config /tmp/b/ctd/config.toml"),
      proc(20, 1, "containerd-shim", "containerd-shim-runc-v2 -address /tmp/b/ctd/containerd.sock"),
      proc(21, 20, "catatonit", "/catatonit -P", "mnt:[2]"),
      proc(22, 20, "sleep", "/bin/sleep 3600", "mnt:[3]"),
      proc(
        30,
        1,
        "containerd-shim",
        "containerd-shim-runc-v2 -address /tmp/b/ctd2/containerd.sock",
      ),
      proc(31, 30, "sleep", "/bin/sleep 3600", "mnt:[4]"),
    ];
    const r = runtimeProcesses(all, 10, "/tmp/b/ctd");
    expect(r.daemon?.pid).to.equal(10);
    expect(r.helpers.map((p) => p.pid)).to.deep.equal([20]);
    expect(r.podHolders.map((p) => p.pid)).to.deep.equal([21]);
    expect(r.workloads.map((p) => p.pid)).to.deep.equal([22]);
  });

  it("reads kB fields of /proc status files", () => {
    expect(kibField("Name:\tx\nVmRSS:\t   12345 kB\n", "VmRSS")).to.equal(12345);
    expect(kibField("Rss: 10 kB\nPss:                 77 kB\n", "Pss")).to.equal(77);
    expect(kibField("VmRSS: 1 kB\n", "Pss")).to.equal(0);
  });

  it("decodes mount points of mountinfo lines", () => {
    const info =
      "36 35 98:0 / /tmp/a\\040b rw - ext4 /dev/x rw\n37 35 0:5 / /tmp/x/state/netns/cni-1 rw - nsfs nsfs rw\n";
    expect(parseMountPoints(info)).to.deep.equal(["/tmp/a b", "/tmp/x/state/netns/cni-1"]);
  });

  it("turns iptables-save lines naming the run's subnet into deletions, in their table", () => {
    const save = [
      "*nat",
      ":POSTROUTING ACCEPT [0:0]",
      "-A POSTROUTING -s 10.252.7.0/24 -j CNI-abc",
      "-A POSTROUTING -s 10.99.0.0/16 -j MASQUERADE",
      "COMMIT",
      "*filter",
      "-A FORWARD -i vsbb123456 -j ACCEPT",
      "COMMIT",
    ].join("\n");
    expect(rulesToDelete(save, ["10.252.7.0/24", "vsbb123456"])).to.deep.equal([
      { table: "nat", args: ["-D", "POSTROUTING", "-s", "10.252.7.0/24", "-j", "CNI-abc"] },
      { table: "filter", args: ["-D", "FORWARD", "-i", "vsbb123456", "-j", "ACCEPT"] },
    ]);
  });

  it("names a killed shim's socket as containerd 1.6 does (sha256 of address/namespace/id)", () => {
    // Seen on this host: the shim of this command line listened on this socket.
    const cmdline =
      "/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id " +
      "2c091e2df20b6da902a8a177a7e960dc13668a519c250b8a2fa4b256d64f5a56 " +
      "-address /tmp/berth-vsbench-1nynDV/containerd/containerd.sock";
    expect(shimSocketPath(cmdline)).to.equal(
      "/run/containerd/s/affaea94e0c374dc1d3602b66245dbeaf2da913982d74457d4c3bdcd1631baa1",
    );
    expect(shimSocketPath("/usr/bin/conmon --cid x")).to.equal(undefined);
  });
});
