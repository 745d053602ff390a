// Rough edges a new user meets with crictl (issue 10), each through the CRI on the real
// runtime: a stopped pod's released IP, a missing hostPath, a command the image lacks, and an
// ExecSync whose output is larger than a gRPC message may be.
import { existsSync, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { findSeries, parseExposition } from "../../support/prometheus.js";
import {
  containerConfig,
  defaultHandler,
  podConfig,
  type PodEnv,
  runPodWith,
  startPodEnv,
  uid,
} from "../../support/pod-env.js";

interface GrpcError {
  code: number;
  details: string;
}

describe("rough edges through the CRI (runc, conmon, CNI)", function () {
  this.timeout(120_000);
  let env: PodEnv;
  const tmpDirs: string[] = [];
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
  });
  after(async () => {
    await env?.cleanup();
    for (const d of tmpDirs) await fs.rm(d, { recursive: true, force: true });
  });
  const call = () => env.berthd.client.call;

  it("a stopped pod reports no IP: its address went back to IPAM", async () => {
    const { pod_sandbox_id: id } = await call().RunPodSandbox({ config: podConfig(env, "ipgone") });
    const ready = await call().PodSandboxStatus({ pod_sandbox_id: id });
    expect(ready.status!.network!.ip).to.not.equal("");
    await call().StopPodSandbox({ pod_sandbox_id: id });
    const stopped = await call().PodSandboxStatus({ pod_sandbox_id: id });
    expect(stopped.status!.state).to.equal("SANDBOX_NOTREADY");
    expect(stopped.status!.network!.ip).to.equal("");
    expect(stopped.status!.network!.additional_ips).to.deep.equal([]);
    await call().RemovePodSandbox({ pod_sandbox_id: id });
  });

  it("creates a missing hostPath as a root-owned 0755 directory, as containerd does", async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), "berth-test-hostpath-"));
    tmpDirs.push(base);
    const missing = path.join(base, "a", "b");
    const { ctrId } = await runPodWith(
      env,
      "hostpath",
      ["sh", "-c", "echo hello > /data/greeting; sleep 600"],
      {},
      { mounts: [{ container_path: "/data", host_path: missing }] },
    );
    const st = await fs.stat(missing);
    expect(st.isDirectory()).to.equal(true);
    expect(st.mode & 0o7777).to.equal(0o755);
    expect((await fs.stat(path.join(base, "a"))).mode & 0o7777).to.equal(0o755);
    expect(st.uid).to.equal(0);
    for (let i = 0; i < 100 && !existsSync(path.join(missing, "greeting")); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await fs.readFile(path.join(missing, "greeting"), "utf8")).to.equal("hello\n");
    await call().StopContainer({ container_id: ctrId, timeout: "0" });
  });

  it("refuses a hostPath that leads through a file or a dangling symlink", async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), "berth-test-hostpath-"));
    tmpDirs.push(base);
    await fs.writeFile(path.join(base, "file"), "x");
    await fs.symlink(path.join(base, "nowhere"), path.join(base, "dangling"));
    const pod = podConfig(env, "badhostpath");
    const { pod_sandbox_id: podId } = await call().RunPodSandbox({ config: pod });
    for (const hostPath of [path.join(base, "file", "sub"), path.join(base, "dangling")]) {
      try {
        await call().CreateContainer({
          pod_sandbox_id: podId,
          config: containerConfig(env, `bad-${uid()}`, ["true"], {
            mounts: [{ container_path: "/data", host_path: hostPath }],
          }),
          sandbox_config: pod,
        });
        expect.fail(`${hostPath} accepted`);
      } catch (err) {
        const e = err as GrpcError;
        expect(e.code, e.details).to.equal(status.INVALID_ARGUMENT);
        expect(e.details).to.include("config.mounts[0].host_path");
      }
    }
    expect(existsSync(path.join(base, "nowhere"))).to.equal(false);
  });

  it("a command the image lacks: the runtime's own error, alone, and not INTERNAL", async () => {
    const pod = podConfig(env, "noexec");
    const { pod_sandbox_id: podId } = await call().RunPodSandbox({ config: pod });
    try {
      await call().CreateContainer({
        pod_sandbox_id: podId,
        config: containerConfig(env, "noexec", ["/does-not-exist"]),
        sandbox_config: pod,
      });
      expect.fail("a missing executable was accepted");
    } catch (err) {
      const e = err as GrpcError;
      expect(e.code, e.details).to.equal(status.FAILED_PRECONDITION);
      // Each runtime's own words: runc's and crun's (the default where the host lets crun run).
      expect(e.details).to.match(
        (await defaultHandler(env)) === "crun"
          ? /^executable file `\/does-not-exist` not found/
          : /^runc create failed: .*"\/does-not-exist"/,
      );
      expect(e.details).to.not.include("freezer");
      expect(e.details).to.not.include("lstat");
    }
    const left = await call().ListContainers({ filter: { pod_sandbox_id: podId } });
    expect(left.containers).to.deep.equal([]);
  });

  it("ExecSync with 2 x 20 MB of output answers OK, both streams cut to fit 16 MiB", async () => {
    const { ctrId } = await runPodWith(env, "bigexec", ["sleep", "600"]);
    const res = await call().ExecSync({
      container_id: ctrId,
      cmd: ["sh", "-c", "head -c 20000000 /dev/zero; head -c 20000000 /dev/zero >&2"],
      timeout: "60",
    });
    expect(res.exit_code).to.equal(0);
    const total = res.stdout.length + res.stderr.length;
    expect(total).to.be.at.most(16 * 1024 * 1024 - 32);
    expect(total).to.be.greaterThan(16 * 1024 * 1024 - 4096);
    expect(res.stdout.length).to.be.greaterThan(8 * 1024 * 1024 - 4096);
    expect(res.stderr.length).to.be.greaterThan(8 * 1024 * 1024 - 4096);
    expect(res.stdout.every((b) => b === 0)).to.equal(true);

    const small = await call().ExecSync({
      container_id: ctrId,
      cmd: ["echo", "hi"],
      timeout: "10",
    });
    expect(small.stdout.toString()).to.equal("hi\n");

    // The call was counted as what it was: a success.
    const samples = parseExposition(await env.berthd.metricsText());
    expect(findSeries(samples, "berth_rpc_errors_total", { method: "ExecSync" })).to.deep.equal([]);
  });
});
