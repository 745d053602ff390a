// Proves runc accepts the specs berth builds: a sandbox (catatonit in pause mode) and
// containers joining its namespaces on a busybox rootfs. Needs root, runc, catatonit and
// busybox-static; skips itself otherwise.
import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { ProcessRunner, type RunResult } from "../../../src/util/command.js";
import { buildContainerSpec } from "../../../src/runtime/spec/container-spec.js";
import { buildSandboxSpec } from "../../../src/runtime/spec/sandbox-spec.js";
import { capabilitiesFromMask } from "../../../src/runtime/spec/capabilities.js";
import { readImageUserFiles, resolveMountDestinations } from "../../../src/runtime/spec/prepare.js";
import { mountDestinationsToResolve } from "../../../src/runtime/spec/mounts.js";
import type { ContainerSpecContext } from "../../../src/runtime/spec/context.js";
import type { LinuxContainerSecurityContext__Output } from "../../../src/gen/runtime/v1/LinuxContainerSecurityContext.js";
import type { Mount__Output } from "../../../src/gen/runtime/v1/Mount.js";
import {
  containerConfig,
  mount,
  sandboxConfig,
  sandboxContext,
} from "../../unit/runtime-spec/fixtures.js";

const RUNC = "/usr/bin/runc";
const BUSYBOX = "/usr/bin/busybox";
const CATATONIT = "/usr/bin/catatonit";

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

describe("runtime/spec with real runc", function () {
  this.timeout(120000);
  const runner = new ProcessRunner();
  const tag = `berth-spec-it-${randomBytes(4).toString("hex")}`;
  const sandboxId = `${tag}-sb`;
  const started: string[] = [];
  let tmp = "";
  let runcRoot = "";
  let hostCaps: string[] = [];
  let sandboxPid = 0;

  const runc = (args: string[], timeoutMs = 60000): Promise<RunResult> =>
    runner.run(RUNC, ["--root", runcRoot, ...args], { timeoutMs });

  before(async function () {
    if (process.getuid?.() !== 0) {
      console.log("      skipped: needs root");
      this.skip();
    }
    for (const p of [RUNC, BUSYBOX, CATATONIT]) {
      if (!(await exists(p))) {
        console.log(`      skipped: ${p} is missing`);
        this.skip();
      }
    }
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-spec-it-"));
    runcRoot = path.join(tmp, "runc-state");
    const status = await fs.readFile("/proc/self/status", "utf8");
    hostCaps = capabilitiesFromMask(/^CapBnd:\s*(\w+)/m.exec(status)?.[1] ?? "0");

    // The sandbox: an empty rootfs and catatonit bind-mounted into it.
    const sbDir = path.join(tmp, "sandbox");
    await fs.mkdir(path.join(sbDir, "rootfs"), { recursive: true });
    await fs.mkdir(path.join(tmp, "shm"));
    const { spec, warnings } = buildSandboxSpec({
      config: sandboxConfig({}, { seccomp: { profile_type: "RuntimeDefault", localhost_ref: "" } }),
      ctx: sandboxContext({
        rootfsPath: path.join(sbDir, "rootfs"),
        cgroupPath: `/${tag}/sandbox`,
        initPath: CATATONIT,
        shmPath: path.join(tmp, "shm"),
        oomScoreAdjMin: 0,
        sandboxId,
      }),
    });
    expect(warnings).to.have.length(1); // the -998 clamp: this host lacks CAP_SYS_RESOURCE
    await fs.writeFile(path.join(sbDir, "config.json"), JSON.stringify(spec, null, 1));
    const log = path.join(tmp, "sandbox-run.log");
    // Detached: runc's stdio must not be the runner's pipes, or the container would hold them.
    const res = await runner.run(
      "/bin/sh",
      [
        "-c",
        `exec "$0" --root "$1" run -d --bundle "$2" "$3" </dev/null >"$4" 2>&1`,
        RUNC,
        runcRoot,
        sbDir,
        sandboxId,
        log,
      ],
      { timeoutMs: 60000 },
    );
    started.push(sandboxId);
    if (res.code !== 0) throw new Error(`runc run sandbox: ${await fs.readFile(log, "utf8")}`);
    const state = JSON.parse((await runc(["state", sandboxId])).stdout.toString()) as {
      pid: number;
      status: string;
    };
    expect(state.status).to.equal("running");
    sandboxPid = state.pid;
  });

  after(async () => {
    for (const id of started.reverse()) {
      await runc(["delete", "--force", id]).catch(() => undefined);
    }
    // runc removes the containers' cgroups; the parent berth asked for is left in each hierarchy.
    for (const hierarchy of await fs.readdir("/sys/fs/cgroup").catch(() => [])) {
      const dir = path.join("/sys/fs/cgroup", hierarchy, tag);
      for (const child of ["sandbox", "c-unconfined", "c-default", "c-locked"]) {
        await fs.rmdir(path.join(dir, child)).catch(() => undefined);
      }
      await fs.rmdir(dir).catch(() => undefined);
    }
    if (tmp !== "") await fs.rm(tmp, { recursive: true, force: true });
  });

  async function makeBusyboxRootfs(dir: string): Promise<void> {
    await fs.mkdir(path.join(dir, "bin"), { recursive: true });
    await fs.mkdir(path.join(dir, "etc"));
    await fs.copyFile(BUSYBOX, path.join(dir, "bin/busybox"));
    await fs.chmod(path.join(dir, "bin/busybox"), 0o755);
    for (const applet of ["sh", "grep", "cat", "id", "unshare", "hostname", "wc"]) {
      await fs.symlink("busybox", path.join(dir, "bin", applet));
    }
    await fs.writeFile(
      path.join(dir, "etc/passwd"),
      "root:x:0:0::/:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n",
    );
    await fs.writeFile(path.join(dir, "etc/group"), "root:x:0:\nalice:x:1000:\n");
  }

  async function runContainer(
    name: string,
    script: string,
    sc: Partial<LinuxContainerSecurityContext__Output>,
    mounts: Mount__Output[] = [],
  ): Promise<string> {
    const bundle = path.join(tmp, name);
    const rootfs = path.join(bundle, "rootfs");
    await makeBusyboxRootfs(rootfs);
    for (const f of ["hosts", "resolv.conf", "hostname"]) {
      await fs.writeFile(path.join(tmp, f), f === "hostname" ? "web\n" : "");
    }
    const config = containerConfig({ command: ["/bin/sh", "-c", script], mounts }, sc);
    const sandbox = {
      id: sandboxId,
      pid: sandboxPid,
      namespacePaths: {},
      hostname: "web",
      hostsPath: path.join(tmp, "hosts"),
      resolvConfPath: path.join(tmp, "resolv.conf"),
      hostnamePath: path.join(tmp, "hostname"),
      shmPath: path.join(tmp, "shm"),
      cgroupParent: `/${tag}`,
    };
    const ctx: ContainerSpecContext = {
      rootfsPath: rootfs,
      cgroupPath: `/${tag}/${name}`,
      seccomp: { localhost: {} },
      hostHas: { apparmor: false, selinux: false },
      oomScoreAdjMin: 0,
      allCapabilities: hostCaps,
      containerId: name,
      sandbox,
      imageName: "busybox",
      ...(await readImageUserFiles(rootfs)),
      mountDestinations: await resolveMountDestinations(
        rootfs,
        mountDestinationsToResolve(config, sandbox),
      ),
      devices: [],
    };
    const { spec } = buildContainerSpec({
      config,
      sandboxConfig: sandboxConfig(),
      image: { Cmd: ["sh"] },
      ctx,
    });
    await fs.writeFile(path.join(bundle, "config.json"), JSON.stringify(spec, null, 1));
    const id = `${tag}-${name}`;
    started.push(id);
    const res = await runc(["run", "--bundle", bundle, id]);
    const out = res.stdout.toString();
    if (res.code !== 0)
      throw new Error(`runc run ${name}: ${res.code}: ${res.stderr.toString()} ${out}`);
    return out;
  }

  const script = [
    "grep -E '^Cap(Eff|Bnd):' /proc/self/status",
    "unshare -U true; echo unshare=$?",
    "id -u",
    "hostname",
    "cat /proc/1/cmdline | grep -c berth-init",
  ].join("; ");

  it("runs a container with dropped capabilities and no seccomp", async () => {
    const out = await runContainer("c-unconfined", script, {
      run_as_username: "",
      namespace_options: {
        network: "POD",
        ipc: "POD",
        pid: "POD",
        target_id: "",
        userns_options: null,
      },
      capabilities: {
        add_capabilities: ["CHOWN", "NET_BIND_SERVICE"],
        drop_capabilities: ["ALL"],
        add_ambient_capabilities: [],
      },
      seccomp: { profile_type: "Unconfined", localhost_ref: "" },
    });
    expect(out).to.match(/^CapEff:\s*0000000000000401$/m);
    expect(out).to.match(/^CapBnd:\s*0000000000000401$/m);
    expect(out).to.match(/^unshare=0$/m); // user namespaces need no capability
    expect(out).to.match(/^0$/m);
    expect(out).to.match(/^web$/m); // the sandbox's UTS namespace
    expect(out).to.match(/^1$/m); // the sandbox's PID namespace: its pid 1 is berth's init
  });

  it("blocks unshare with the RuntimeDefault seccomp profile", async () => {
    const out = await runContainer("c-default", script, {
      seccomp: { profile_type: "RuntimeDefault", localhost_ref: "" },
      run_as_user: { value: "1000" },
    });
    // The bounding set holds the 14 defaults; execve as a non-root user empties the effective
    // set (no ambient capabilities were asked for), as under Docker.
    expect(out).to.match(/^CapBnd:\s*00000000a80425fb$/m);
    expect(out).to.match(/^CapEff:\s*0000000000000000$/m);
    expect(out).to.match(/^unshare=1$/m);
    expect(out).to.match(/^1000$/m);
  });

  it("applies kubelet's masks, a read-only rootfs and a read-only CRI mount", async () => {
    const data = path.join(tmp, "data");
    await fs.mkdir(data);
    await fs.writeFile(path.join(data, "file"), "from-host\n");
    const out = await runContainer(
      "c-locked",
      [
        "cat /data/file",
        "echo x > /data/new 2>/dev/null; echo data_write=$?",
        "echo x > /newfile 2>/dev/null; echo root_write=$?",
        "echo x > /dev/shm/ok; echo shm_write=$?",
        "echo $(cat /proc/kcore 2>/dev/null | wc -c) kcore_bytes",
        "echo 1 > /proc/sys/kernel/domainname 2>/dev/null; echo procsys_write=$?",
      ].join("; "),
      {
        readonly_rootfs: true,
        seccomp: { profile_type: "RuntimeDefault", localhost_ref: "" },
        masked_paths: ["/proc/kcore", "/proc/keys", "/sys/firmware"],
        readonly_paths: ["/proc/sys", "/proc/sysrq-trigger"],
        no_new_privs: true,
      },
      [mount({ container_path: "/data", host_path: data, readonly: true })],
    );
    expect(out).to.match(/^from-host$/m);
    expect(out).to.match(/^data_write=1$/m);
    expect(out).to.match(/^root_write=1$/m);
    expect(out).to.match(/^shm_write=0$/m);
    expect(out).to.match(/^0 kcore_bytes$/m);
    expect(out).to.match(/^procsys_write=1$/m);
  });
});
