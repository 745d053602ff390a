// A whole node for runtime tests: a local registry serving a busybox image, and a berthd whose
// default CNI network is a bridge and subnet this test run owns. Helpers build the CRI configs
// kubelet would send, and cleanup removes every pod, the bridge, and the temp dirs.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ContainerConfig } from "../../src/gen/runtime/v1/ContainerConfig.js";
import type { PodSandboxConfig } from "../../src/gen/runtime/v1/PodSandboxConfig.js";
import { removeCgroupPath } from "../../src/cgroup/remove.js";
import { Berthd, type BerthdOptions } from "./berthd.js";
import { busyboxImage } from "./registry/images.js";
import { startRegistry, type TestRegistry } from "./registry/registry-server.js";

export interface PodEnv {
  berthd: Berthd;
  registry: TestRegistry;
  /** `127.0.0.1:PORT/busybox:1`, pushed and pulled. */
  image: string;
  imageId: string;
  bridge: string;
  subnet: string;
  logDir: string;
  cleanup(): Promise<void>;
}

export function uid(): string {
  return randomBytes(6).toString("hex");
}

/** A bridge name and a /24 of 10.200-249.x.0 unlikely to collide with another run. */
export function testNetwork(): { bridge: string; subnet: string } {
  const r = randomBytes(2);
  return {
    bridge: `bt${randomBytes(4).toString("hex")}`,
    subnet: `10.${200 + (r[0]! % 50)}.${r[1]}.0/24`,
  };
}

export async function startPodEnv(
  opts: BerthdOptions & {
    network?: boolean;
    /** A CNI conf dir of the caller's; berth's default network is then not written. */
    cniConfDir?: string;
  } = {},
): Promise<PodEnv> {
  const registry = await startRegistry();
  const built = await busyboxImage();
  await registry.pusher.pushImage("busybox", built, "1");
  const net = testNetwork();
  const toml = [
    opts.configToml ?? "",
    "[cni]",
    `conf_dir = "${opts.cniConfDir ?? "/nonexistent-berth-test-cni"}"`,
    `default_network = ${opts.network === false || opts.cniConfDir !== undefined ? "false" : "true"}`,
    `bridge = "${net.bridge}"`,
    `subnet = "${net.subnet}"`,
  ].join("\n");
  const berthd = await Berthd.start({ ...opts, configToml: toml });
  const logDir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-test-logs-"));
  const image = `${registry.host}/busybox:1`;
  const pulled = await berthd.client.call.PullImage({ image: { image } });
  return {
    berthd,
    registry,
    image,
    imageId: pulled.image_ref,
    bridge: net.bridge,
    subnet: net.subnet,
    logDir,
    cleanup: async () => {
      try {
        await removeAllPods(berthd);
      } finally {
        await berthd.cleanup();
        await registry.stop();
        await fs.rm(logDir, { recursive: true, force: true });
        deleteLink(net.bridge);
        // berth's shared parent of pods without a kubelet cgroup_parent, once it is empty.
        await removeCgroupPath("/berth", undefined, 1);
      }
    },
  };
}

export function deleteLink(name: string): void {
  try {
    execFileSync("ip", ["link", "del", name], { stdio: "ignore" });
  } catch {
    // absent: nothing to do
  }
}

export async function removeAllPods(berthd: Berthd): Promise<void> {
  if (!berthd.running) return;
  const pods = await berthd.client.call.ListPodSandbox({});
  for (const p of pods.items) {
    await berthd.client.call.StopPodSandbox({ pod_sandbox_id: p.id });
    await berthd.client.call.RemovePodSandbox({ pod_sandbox_id: p.id });
  }
}

export function podConfig(
  env: Pick<PodEnv, "logDir">,
  name: string,
  extra: Partial<PodSandboxConfig> = {},
): PodSandboxConfig {
  return {
    metadata: { name, namespace: "berth-test", uid: uid(), attempt: 0 },
    hostname: name,
    log_directory: path.join(env.logDir, name),
    labels: { app: name, "berth.test/suite": "runtime" },
    annotations: { "berth.test/note": "pod annotation ✓" },
    linux: {
      security_context: { namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD" } },
    },
    ...extra,
  };
}

export function containerConfig(
  env: Pick<PodEnv, "image">,
  name: string,
  command: string[],
  extra: Partial<ContainerConfig> = {},
): ContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: { image: env.image },
    command,
    log_path: `${name}.log`,
    labels: { container: name },
    annotations: { "berth.test/container": name },
    ...extra,
  };
}

/** Polls until `check` passes or the time is up (then throws with the last error). */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 15_000,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/** Runs a pod with one started container; returns both ids. */
export async function runPodWith(
  env: PodEnv,
  name: string,
  command: string[],
  podExtra: Partial<PodSandboxConfig> = {},
  ctrExtra: Partial<ContainerConfig> = {},
): Promise<{ podId: string; ctrId: string; pod: PodSandboxConfig }> {
  const c = env.berthd.client.call;
  const pod = podConfig(env, name, podExtra);
  const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
  const { container_id: ctrId } = await c.CreateContainer({
    pod_sandbox_id: podId,
    config: containerConfig(env, name, command, ctrExtra),
    sandbox_config: pod,
  });
  await c.StartContainer({ container_id: ctrId });
  return { podId, ctrId, pod };
}

/**
 * The handler berthd runs pods on when the request names none: crun where the host lets crun
 * run (it is preferred), runc elsewhere (this hybrid host, unless hugetlb is on v1).
 */
export async function defaultHandler(env: PodEnv): Promise<string> {
  const st = await env.berthd.client.call.Status({ verbose: true });
  return st.info["defaultRuntimeHandler"] ?? "";
}
