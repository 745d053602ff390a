// What a removed or half-made object leaves behind. berthd is killed (-9) at each step of a
// RunPodSandbox (a test-only pause point holds the call there) and restarted: recovery must
// remove everything of that pod. Removal must also take conmon's socket links, and recovery
// the links, exit files and processes of ids no record has, whichever runtime handler ran them.
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { leftoversOf } from "../../support/leftovers.js";
import {
  containerConfig,
  eventually,
  podConfig,
  type PodEnv,
  startPodEnv,
} from "../../support/pod-env.js";
import { mountPoints } from "../../../src/util/mountinfo.js";

/** A pod that shares its PID namespace: it has an infra container (catatonit under conmon). */
const WITH_INFRA = {
  linux: {
    security_context: { namespace_options: { network: "POD", pid: "POD", ipc: "POD" } as const },
  },
};

/** Runs `start` with berthd paused at `step`, then kills berthd there; returns the pod's id. */
async function crashAt(env: PodEnv, step: string, start: () => Promise<unknown>): Promise<string> {
  await env.berthd.kill9();
  process.env.BERTH_TEST_PAUSE_AT = step;
  try {
    await env.berthd.launch();
  } finally {
    delete process.env.BERTH_TEST_PAUSE_AT;
  }
  void start().catch(() => undefined); // its connection dies with berthd
  const id = await eventually(
    async () => {
      for (const line of env.berthd.logs.split("\n")) {
        if (!line.includes("test pause point reached")) continue;
        const rec = JSON.parse(line) as { step?: string; pod_sandbox_id?: string };
        if (rec.step === step && rec.pod_sandbox_id) return rec.pod_sandbox_id;
      }
      throw new Error(`berthd did not reach ${step}`);
    },
    30_000,
    20,
  );
  await env.berthd.kill9();
  await env.berthd.launch();
  return id;
}

describe("leftovers: crashes, removals and recovery leave nothing behind", function () {
  this.timeout(300_000);
  let env: PodEnv;
  let otherRoot: string;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    // A second handler ("other": runc with its own state root) beside the default runc.
    otherRoot = `/run/berth-test-other-${process.pid}`;
    env = await startPodEnv({
      configToml: [
        `default_runtime = "runc"`,
        `[runtimes.runc]`,
        `path = "/usr/sbin/runc"`,
        `[runtimes.other]`,
        `path = "/usr/sbin/runc"`,
        `root = "${otherRoot}"`,
      ].join("\n"),
    });
  });
  after(async () => {
    await env?.cleanup();
    if (otherRoot) await fs.rm(otherRoot, { recursive: true, force: true });
  });

  // Pods without an infra (berth's default) pass through their own steps; the infra's steps are
  // those of a pod that shares its PID namespace.
  const crashCases: [step: string, infra: boolean][] = [
    ["sandbox-namespaces", false],
    ["sandbox-network", false],
    ["run-pod-sandbox", false],
    ["sandbox-network", true],
    ["sandbox-spec", true],
    ["sandbox-created", true],
    ["run-pod-sandbox", true],
  ];
  for (const [step, infra] of crashCases) {
    const what = infra ? "with an infra" : "without an infra";
    it(`a RunPodSandbox ${what} killed at ${step} leaves nothing once berthd restarts`, async () => {
      const pod = podConfig(env, `crash-${step}-${infra}`, infra ? WITH_INFRA : {});
      const id = await crashAt(env, step, () =>
        env.berthd.client.call.RunPodSandbox({ config: pod }),
      );
      const c = env.berthd.client.call;
      expect((await c.ListPodSandbox({})).items.map((p) => p.id)).to.not.include(id);
      expect(await leftoversOf(env, id)).to.deep.equal([]);
      // The name is free again: kubelet's retry succeeds.
      const { pod_sandbox_id: again } = await c.RunPodSandbox({ config: pod });
      await c.StopPodSandbox({ pod_sandbox_id: again });
      await c.RemovePodSandbox({ pod_sandbox_id: again });
      expect(await leftoversOf(env, again)).to.deep.equal([]);
    });
  }

  it("an orphan of a non-default handler is deleted with that handler, and its conmon ends", async () => {
    const pod = podConfig(env, "crash-other", WITH_INFRA);
    const id = await crashAt(env, "run-pod-sandbox", () =>
      env.berthd.client.call.RunPodSandbox({ config: pod, runtime_handler: "other" }),
    );
    expect(await leftoversOf(env, id)).to.deep.equal([]);
    const list = execFileSync("runc", ["--root", otherRoot, "list", "-q"], { encoding: "utf8" });
    expect(list.split("\n")).to.not.include(id);
  });

  it("RemoveContainer and RemovePodSandbox take conmon's socket links", async () => {
    const c = env.berthd.client.call;
    const pod = podConfig(env, "links", WITH_INFRA);
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    const { container_id: ctrId } = await c.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(env, "links", ["sleep", "600"]),
      sandbox_config: pod,
    });
    await c.StartContainer({ container_id: ctrId });
    const links = path.join(env.berthd.state, "s");
    expect(await fs.readdir(links)).to.include.members([podId, ctrId]);
    await c.StopContainer({ container_id: ctrId, timeout: 0 });
    await c.RemoveContainer({ container_id: ctrId });
    expect(await fs.readdir(links)).to.not.include(ctrId);
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
    expect(await fs.readdir(links)).to.not.include(podId);
    expect(await leftoversOf(env, podId)).to.deep.equal([]);
    expect(await leftoversOf(env, ctrId)).to.deep.equal([]);
  });

  it("recovery removes socket links and exit files of ids no record has", async () => {
    const b = env.berthd;
    const ghost = "0123456789abcdef".repeat(4);
    await b.kill9();
    await fs.mkdir(path.join(b.state, "s"), { recursive: true });
    await fs.symlink("/nonexistent", path.join(b.state, "s", ghost));
    await fs.writeFile(path.join(b.state, "exits", ghost), "0");
    await b.launch();
    expect(await leftoversOf(env, ghost)).to.deep.equal([]);
  });

  it("25 CreateContainers that fail validation (a missing device) leave no mount or bundle", async () => {
    const c = env.berthd.client.call;
    const pod = podConfig(env, "bad-device");
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    const b = env.berthd;
    const before = {
      bundles: await fs.readdir(path.join(b.state, "containers")).catch((): string[] => []),
      layers: await fs.readdir(path.join(b.root, "overlay")).catch((): string[] => []),
    };
    // Validation comes before any side effect: not even for a moment is a rootfs mounted or a
    // bundle made for these requests.
    const seen = new Set<string>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const info = await fs.readFile("/proc/self/mountinfo", "utf8");
        for (const mp of mountPoints(info)) {
          if (mp.startsWith(path.join(b.state, "containers"))) seen.add(`mount ${mp}`);
        }
        for (const d of await fs
          .readdir(path.join(b.state, "containers"))
          .catch((): string[] => [])) {
          if (!before.bundles.includes(d)) seen.add(`bundle ${d}`);
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const codes = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        c
          .CreateContainer({
            pod_sandbox_id: podId,
            config: containerConfig(env, `bad${i}`, ["true"], {
              devices: [
                { host_path: "/dev/nope", container_path: "/dev/nope", permissions: "rwm" },
              ],
              // Many destinations to resolve in the rootfs: reads there still run when the
              // device check fails.
              mounts: Array.from({ length: 200 }, (_, m) => ({
                host_path: env.logDir,
                container_path: `/usr/share/m${m}/x/y`,
              })),
            }),
            sandbox_config: pod,
          })
          .then(
            () => "OK",
            (err: unknown) => (err as { code?: number }).code,
          ),
      ),
    );
    polling = false;
    await poller;
    expect(new Set(codes)).to.deep.equal(new Set([3])); // INVALID_ARGUMENT, each
    expect([...seen]).to.deep.equal([]);
    expect(
      await fs.readdir(path.join(b.state, "containers")).catch((): string[] => []),
    ).to.deep.equal(before.bundles);
    expect(await fs.readdir(path.join(b.root, "overlay")).catch((): string[] => [])).to.deep.equal(
      before.layers,
    );
    const mounts = mountPoints(
      execFileSync("cat", ["/proc/self/mountinfo"], { encoding: "utf8" }),
    ).filter((mp) => mp.startsWith(path.join(b.state, "containers")));
    expect(mounts).to.deep.equal([]);
    await c.StopPodSandbox({ pod_sandbox_id: podId });
    await c.RemovePodSandbox({ pod_sandbox_id: podId });
  });
});
