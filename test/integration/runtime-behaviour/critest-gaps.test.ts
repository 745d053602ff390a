// What critest (cri-tools v1.32.0) checks and berth once got wrong, through the CRI with the real
// runtime: stats list a container right after StartContainer (however recent the last sample),
// a Localhost seccomp profile on the sandbox and the container, and run_as_group without a user
// refused before anything is made.
import { promises as fs, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import type { PodSandboxConfig } from "../../../src/gen/runtime/v1/PodSandboxConfig.js";
import { containerConfig, type PodEnv, podConfig, startPodEnv } from "../../support/pod-env.js";
import { createContainer, expectNothingLeft, type Pod, runPod } from "./behaviour-helpers.js";

/** critest's block-chmod.json: allow everything but chmod and fchmodat. */
const BLOCK_CHMOD = {
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [{ names: ["chmod", "fchmodat"], action: "SCMP_ACT_ERRNO" }],
};

interface GrpcError {
  code: number;
  details: string;
}

async function rpcError(p: Promise<unknown>): Promise<GrpcError> {
  try {
    await p;
  } catch (err) {
    return err as GrpcError;
  }
  expect.fail("the call succeeded");
}

describe("runtime behaviour: critest's checks (stats, Localhost seccomp, run_as_group)", function () {
  this.timeout(120_000);
  let env: PodEnv;
  let pod: Pod;
  let tmp: string;
  const pods = new Set<string>();
  let n = 0;
  const name = (base: string) => `${base}-${n++}`;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
    pod = await runPod(env, "critest-gaps", pods);
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-test-seccomp-"));
  });
  after(async () => {
    await env?.cleanup();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it("ListContainerStats lists a container started right after a sample, by id, labels and nil filter", async () => {
    const c = env.berthd.client.call;
    // A sample taken now is reused for a second: the container below is newer than it.
    await c.ListContainerStats({ filter: null });
    const t0 = Date.now();
    const id = await createContainer(env, pod, name("stats"), ["/bin/sleep", "600"], {
      labels: { foo: "bar" },
    });
    await c.StartContainer({ container_id: id });
    const ids = (stats: { attributes: { id: string } | null }[]) =>
      stats.map((s) => s.attributes!.id);
    const byId = await c.ListContainerStats({ filter: { id, label_selector: {} } });
    const all = await c.ListContainerStats({ filter: null });
    const byLabel = await c.ListContainerStats({
      filter: { id: "", pod_sandbox_id: "", label_selector: { foo: "bar" } },
    });
    const other = await c.ListContainerStats({
      filter: { id: "", pod_sandbox_id: "", label_selector: { foo: "baz" } },
    });
    console.log(`      create + start + 4 lists took ${Date.now() - t0} ms`);
    expect(ids(byId.stats)).to.deep.equal([id]);
    expect(ids(all.stats)).to.include(id);
    expect(ids(byLabel.stats)).to.deep.equal([id]);
    expect(ids(other.stats)).to.not.include(id);
    // Listed with readings, as for a container the sample had seen.
    const s = byId.stats[0]!;
    expect(Number(s.cpu?.timestamp ?? 0)).to.be.greaterThan(0);
    expect(Number(s.memory?.timestamp ?? 0)).to.be.greaterThan(0);
    expect(Number(s.memory?.working_set_bytes?.value ?? 0)).to.be.greaterThan(0);
    const one = await c.ContainerStats({ container_id: id });
    expect(Number(one.stats!.cpu?.timestamp ?? 0)).to.be.greaterThan(0);

    await c.RemoveContainer({ container_id: id });
    const after = await c.ListContainerStats({ filter: null });
    expect(ids(after.stats)).to.not.include(id);
  });

  it("a Localhost seccomp profile applies to the sandbox's process and its container", async () => {
    const c = env.berthd.client.call;
    const profile = path.join(tmp, "block-chmod.json");
    await fs.writeFile(profile, JSON.stringify(BLOCK_CHMOD));
    const seccomp = { profile_type: "Localhost" as const, localhost_ref: profile };
    const base = podConfig(env, name("seccomp-pod"));
    // pid: POD, so the pod has an infra process for the profile to apply to (drop_infra_ctr).
    const sp = await runPod(env, base.metadata!.name!, pods, {
      linux: {
        security_context: {
          namespace_options: { network: "POD", pid: "POD", ipc: "POD" },
          seccomp,
        },
      },
    });
    const st = await c.PodSandboxStatus({ pod_sandbox_id: sp.id, verbose: true });
    expect(st.status!.state).to.equal("SANDBOX_READY");
    const infraPid = (JSON.parse(st.info["info"]!) as { pid: number }).pid;
    const infraStatus = readFileSync(`/proc/${infraPid}/status`, "utf8");
    expect(infraStatus).to.match(/^Seccomp:\s+2$/m);

    const id = await createContainer(env, sp, name("seccomp"), ["/bin/sleep", "600"], {
      linux: { security_context: { seccomp } },
    });
    await c.StartContainer({ container_id: id });
    const denied = await c.ExecSync({ container_id: id, cmd: ["chmod", "400", "/"], timeout: 10 });
    expect(denied.exit_code).to.not.equal(0);
    expect(denied.stderr.toString()).to.include("Operation not permitted");
    const ok = await c.ExecSync({ container_id: id, cmd: ["true"], timeout: 10 });
    expect(ok.exit_code).to.equal(0);
  });

  it("a sandbox whose Localhost profile is missing fails with INVALID_ARGUMENT, leaving nothing", async () => {
    const c = env.berthd.client.call;
    const before = (await c.ListPodSandbox({})).items.length;
    const base = podConfig(env, name("seccomp-missing"));
    const config: PodSandboxConfig = {
      ...base,
      linux: {
        security_context: {
          ...base.linux!.security_context!,
          seccomp: { profile_type: "Localhost", localhost_ref: path.join(tmp, "nope.json") },
        },
      },
    };
    const e = await rpcError(c.RunPodSandbox({ config }));
    expect(e.code, e.details).to.equal(status.INVALID_ARGUMENT);
    expect(e.details).to.include("nope.json");
    expect((await c.ListPodSandbox({})).items).to.have.length(before);
  });

  it("run_as_group without run_as_user: INVALID_ARGUMENT naming the field, for sandbox and container", async () => {
    const c = env.berthd.client.call;
    const podsBefore = (await c.ListPodSandbox({})).items.length;
    const base = podConfig(env, name("group-only"));
    const e1 = await rpcError(
      c.RunPodSandbox({
        config: {
          ...base,
          linux: {
            security_context: {
              ...base.linux!.security_context!,
              run_as_group: { value: 1002 },
            },
          },
        },
      }),
    );
    expect(e1.code, e1.details).to.equal(status.INVALID_ARGUMENT);
    expect(e1.details).to.include("config.linux.security_context.run_as_group");
    expect((await c.ListPodSandbox({})).items).to.have.length(podsBefore);

    const e2 = await rpcError(
      c.CreateContainer({
        pod_sandbox_id: pod.id,
        config: containerConfig(env, name("group-only"), ["sh", "-c", "id -u; id -g"], {
          linux: { security_context: { run_as_group: { value: 1002 } } },
        }),
        sandbox_config: pod.config,
      }),
    );
    expect(e2.code, e2.details).to.equal(status.INVALID_ARGUMENT);
    expect(e2.details).to.include("config.linux.security_context.run_as_group");
    const left = await c.ListContainers({ filter: { pod_sandbox_id: pod.id } });
    expect(left.containers).to.deep.equal([]);
  });

  it("leaves no mounts, pod cgroups, netns or conmon processes behind", async () => {
    await expectNothingLeft(env, pods);
  });
});
