// Security settings of CRI containers as the real runtime applies them: users and groups,
// read-only root file systems and mounts, symlink escapes through image paths, capabilities,
// masked and read-only /proc paths, seccomp.
import { existsSync, promises as fs, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { buildImage } from "../../support/registry/image-builder.js";
import { busyboxEntries } from "../../support/registry/images.js";
import { symlink } from "../../support/registry/tar.js";
import { type PodEnv, startPodEnv, uid } from "../../support/pod-env.js";
import {
  createContainer,
  expectNothingLeft,
  type Pod,
  removePod,
  runOnce,
  runPod,
} from "./behaviour-helpers.js";

/** containerd's default capability set (14 capabilities) as a CapEff mask. */
const DEFAULT_CAP_MASK = "00000000a80425fb";
/** Only CAP_NET_BIND_SERVICE (bit 10). */
const NET_BIND_SERVICE_MASK = "0000000000000400";

/** What kubelet sends for a pod with the Default procMount. */
const KUBELET_MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
const KUBELET_READONLY_PATHS = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

function capEff(lines: string[]): string {
  const line = lines.find((l) => l.startsWith("CapEff:"));
  expect(line, lines.join("\n")).to.be.a("string");
  return line!.split(/\s+/)[1]!;
}

describe("runtime behaviour: security (runc, conmon, overlayfs)", function () {
  this.timeout(120_000);
  let env: PodEnv;
  let pod: Pod;
  const pods = new Set<string>();
  const tmpDirs: string[] = [];
  let n = 0;
  const name = (base: string) => `${base}-${n++}`;

  const hostTmp = async (prefix: string): Promise<string> => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    tmpDirs.push(d);
    return d;
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
    pod = await runPod(env, "security", pods);
  });
  after(async () => {
    await env?.cleanup();
    for (const d of tmpDirs) await fs.rm(d, { recursive: true, force: true });
  });

  it("runs as the image's user named by run_as_username, with its groups", async () => {
    const r = await runOnce(env, pod, name("user"), "id -u; id -g; id -G", {
      linux: { security_context: { run_as_username: "app" } },
    });
    expect(r.exitCode, r.text).to.equal(0);
    expect(r.lines).to.deep.equal(["1000", "1000", "1000"]);
  });

  it("runs as run_as_user and run_as_group, with supplemental groups", async () => {
    const r = await runOnce(env, pod, name("ids"), "id -u; id -g; id -G", {
      linux: {
        security_context: {
          run_as_user: { value: 1234 },
          run_as_group: { value: 4321 },
          supplemental_groups: [2000, 3000],
        },
      },
    });
    expect(r.exitCode, r.text).to.equal(0);
    expect(r.lines.slice(0, 2)).to.deep.equal(["1234", "4321"]);
    expect(r.lines[2]!.split(" ").sort()).to.deep.equal(["2000", "3000", "4321"]);
  });

  it("refuses an unknown run_as_username with a clear error", async () => {
    try {
      await createContainer(env, pod, name("nouser"), ["/bin/true"], {
        linux: { security_context: { run_as_username: "nosuchuser" } },
      });
      expect.fail("unknown user accepted");
    } catch (err) {
      const e = err as { code: number; details: string };
      expect(e.code, e.details).to.equal(status.INVALID_ARGUMENT);
      expect(e.details).to.include("nosuchuser").and.include("/etc/passwd");
    }
    const left = await env.berthd.client.call.ListContainers({
      filter: { pod_sandbox_id: pod.id },
    });
    expect(left.containers).to.deep.equal([]);
  });

  it("read-only rootfs: / and /tmp are not writable, a writable mount is", async () => {
    const script = [
      "touch /x 2>&1 && echo root-writable",
      "touch /tmp/x 2>&1 && echo tmp-writable",
      "touch /data/x && echo data-writable",
    ].join("; ");
    const dataDir = await hostTmp("berth-test-rw-");
    const r = await runOnce(env, pod, name("rofs"), script, {
      linux: { security_context: { readonly_rootfs: true } },
      mounts: [{ container_path: "/data", host_path: dataDir }],
    });
    expect(r.text).to.include("/x: Read-only file system");
    expect(r.text).to.include("/tmp/x: Read-only file system");
    expect(r.lines).to.not.include("root-writable");
    expect(r.lines).to.not.include("tmp-writable");
    expect(r.lines).to.include("data-writable");
    expect(existsSync(path.join(dataDir, "x"))).to.equal(true);

    const tmpDir = await hostTmp("berth-test-tmp-");
    const r2 = await runOnce(env, pod, name("rofs-tmp"), "touch /tmp/y && echo tmp-ok", {
      linux: { security_context: { readonly_rootfs: true } },
      mounts: [{ container_path: "/tmp", host_path: tmpDir }],
    });
    expect(r2.lines, r2.text).to.include("tmp-ok");
    expect(existsSync(path.join(tmpDir, "y"))).to.equal(true);
  });

  it("a readonly bind mount refuses writes; a writable one's writes reach the host", async () => {
    const roDir = await hostTmp("berth-test-ro-");
    const rwDir = await hostTmp("berth-test-rw-");
    await fs.writeFile(path.join(roDir, "given"), "from host\n");
    const r = await runOnce(
      env,
      pod,
      name("binds"),
      "cat /ro/given; echo no > /ro/new 2>&1 || echo ro-refused; echo hello > /rw/new && echo rw-ok",
      {
        mounts: [
          { container_path: "/ro", host_path: roDir, readonly: true },
          { container_path: "/rw", host_path: rwDir },
        ],
      },
    );
    expect(r.lines).to.include("from host");
    expect(r.text).to.include("Read-only file system");
    expect(r.lines).to.include("ro-refused");
    expect(r.lines).to.include("rw-ok");
    expect(existsSync(path.join(roDir, "new"))).to.equal(false);
    expect(await fs.readFile(path.join(rwDir, "new"), "utf8")).to.equal("hello\n");
  });

  it("a mount through a symlink in the image stays inside the rootfs", async () => {
    const sentinel = await hostTmp("berth-sentinel-");
    const sentinelName = path.basename(sentinel);
    const rootName = `berth-escape-${uid()}`;
    const built = await buildImage({
      layers: [
        { entries: busyboxEntries() },
        {
          entries: [symlink("escape", `../../../../tmp/${sentinelName}`), symlink("evil", "/")],
        },
      ],
      config: { Cmd: ["/bin/sh"] },
    });
    await env.registry.pusher.pushImage("escape", built, "1");
    const image = `${env.registry.host}/escape:1`;
    await env.berthd.client.call.PullImage({ image: { image } });
    const src = await hostTmp("berth-test-src-");
    await fs.writeFile(path.join(src, "marker"), "marker\n");
    const script = [
      "cat /escape/x/marker",
      `cat /tmp/${sentinelName}/x/marker`,
      `cat /${rootName}/marker`,
      `grep -c ' /tmp/${sentinelName}/x ' /proc/self/mountinfo`,
      `grep -c ' /${rootName} ' /proc/self/mountinfo`,
    ].join(" && ");
    const r = await runOnce(env, pod, name("escape"), script, {
      image: { image },
      mounts: [
        { container_path: "/escape/x", host_path: src, readonly: true },
        { container_path: `/evil/${rootName}`, host_path: src, readonly: true },
      ],
    });
    expect(r.exitCode, r.text).to.equal(0);
    expect(r.lines).to.deep.equal(["marker", "marker", "marker", "1", "1"]);
    // Nothing was created or mounted on the host side of either symlink.
    expect(await fs.readdir(sentinel)).to.deep.equal([]);
    expect(existsSync(`/${rootName}`)).to.equal(false);
    const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
    expect(mountinfo).to.not.include(sentinelName);
    expect(mountinfo).to.not.include(rootName);
  });

  it("capabilities: containerd's default set, drop ALL + add one, privileged = full set", async () => {
    const caps = "grep Cap /proc/self/status";
    const def = await runOnce(env, pod, name("caps"), caps);
    expect(capEff(def.lines)).to.equal(DEFAULT_CAP_MASK);

    const one = await runOnce(env, pod, name("caps-one"), caps, {
      linux: {
        security_context: {
          capabilities: { drop_capabilities: ["ALL"], add_capabilities: ["NET_BIND_SERVICE"] },
        },
      },
    });
    expect(capEff(one.lines)).to.equal(NET_BIND_SERVICE_MASK);
    const bnd = one.lines.find((l) => l.startsWith("CapBnd:"));
    expect(bnd).to.match(/\s0000000000000400$/);

    const hostBnd = capEff(
      readFileSync("/proc/self/status", "utf8")
        .split("\n")
        .filter((l) => l.startsWith("CapBnd:"))
        .map((l) => l.replace("CapBnd:", "CapEff:")),
    );
    const privPod = await runPod(env, "privileged", pods, {
      linux: {
        security_context: {
          privileged: true,
          namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD" },
        },
      },
    });
    const priv = await runOnce(env, privPod, name("caps-priv"), caps, {
      linux: { security_context: { privileged: true } },
    });
    expect(capEff(priv.lines)).to.equal(hostBnd);
    await removePod(env, privPod);
  });

  it("masks kubelet's masked_paths and makes readonly_paths read-only; Unmasked does not", async () => {
    const script = [
      "stat -c %F /proc/timer_list",
      "wc -c < /proc/timer_list",
      "ls /sys/firmware | wc -l",
      "v=$(cat /proc/sys/net/ipv4/ip_local_port_range)",
      'echo "$v" > /proc/sys/net/ipv4/ip_local_port_range && echo sysctl-written',
      "true",
    ].join("; ");
    const masked = await runOnce(env, pod, name("masked"), script, {
      linux: {
        security_context: {
          masked_paths: KUBELET_MASKED_PATHS,
          readonly_paths: KUBELET_READONLY_PATHS,
        },
      },
    });
    expect(masked.lines[0]).to.equal("character special file");
    expect(masked.lines[1]).to.equal("0");
    expect(masked.lines[2]).to.equal("0");
    expect(masked.text).to.include("Read-only file system");
    expect(masked.lines).to.not.include("sysctl-written");

    // kubelet's Unmasked: empty lists, only allowed with a pod user namespace (hostUsers: false).
    const open = await runOnce(env, pod, name("unmasked"), script, {
      linux: {
        security_context: {
          masked_paths: [],
          readonly_paths: [],
          namespace_options: {
            network: "POD",
            pid: "CONTAINER",
            ipc: "POD",
            userns_options: { mode: "POD" },
          },
        },
      },
    });
    expect(open.lines[0]).to.equal("regular empty file");
    expect(Number(open.lines[1])).to.be.greaterThan(0);
    expect(Number(open.lines[2])).to.be.greaterThan(0);
    expect(open.lines, open.text).to.include("sysctl-written");
  });

  it("masks the default paths when the request names none (as crictl sends); privileged gets none", async () => {
    const script = [
      "ls /sys/firmware | wc -l",
      "echo berth > /proc/sys/kernel/domainname && echo domainname-written",
      "stat -c %F /proc/timer_list",
    ].join("; ");
    const plain = await runOnce(env, pod, name("nomasks"), script);
    expect(plain.lines[0], plain.text).to.equal("0");
    expect(plain.text).to.include("Read-only file system");
    expect(plain.lines).to.not.include("domainname-written");
    expect(plain.lines).to.include("character special file");

    const privPod = await runPod(env, name("priv-masks"), pods, {
      linux: {
        security_context: {
          privileged: true,
          namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD" },
        },
      },
    });
    const priv = await runOnce(env, privPod, name("priv-masks"), script, {
      linux: { security_context: { privileged: true } },
    });
    expect(Number(priv.lines[0]), priv.text).to.be.greaterThan(0);
    expect(priv.lines, priv.text).to.include("domainname-written");
    await removePod(env, privPod);
  });

  it("seccomp RuntimeDefault blocks unshare; Unconfined allows it", async () => {
    const script = "/bin/busybox unshare -U /bin/true && echo unshared";
    const blocked = await runOnce(env, pod, name("seccomp"), script, {
      linux: { security_context: { seccomp: { profile_type: "RuntimeDefault" } } },
    });
    expect(blocked.exitCode, blocked.text).to.not.equal(0);
    expect(blocked.text).to.include("Operation not permitted");
    expect(blocked.lines).to.not.include("unshared");

    const open = await runOnce(env, pod, name("unconfined"), script, {
      linux: { security_context: { seccomp: { profile_type: "Unconfined" } } },
    });
    expect(open.exitCode, open.text).to.equal(0);
    expect(open.lines).to.include("unshared");
  });

  it("leaves no mounts, pod cgroups, netns or conmon processes behind", async () => {
    await expectNothingLeft(env, pods);
  });
});
