import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { mountSourceOf } from "../../../src/metrics/block-devices.js";
import { LayerUsageCache, measureDirUsage } from "../../../src/metrics/layer-usage.js";
import { countStates } from "../../../src/metrics/state-counts.js";
import { buildTargets, podCgroupPath } from "../../../src/metrics/stats-targets.js";
import type { ContainerRecord, SandboxRecord } from "../../../src/runtime/records.js";

function sandbox(over: Partial<SandboxRecord> = {}): SandboxRecord {
  return {
    version: 1,
    id: "s1",
    name: "web_shop_uid_0",
    config: {
      metadata: { name: "web", namespace: "shop", uid: "uid", attempt: 0 },
      labels: { app: "web" },
      annotations: {},
    } as unknown as SandboxRecord["config"],
    runtimeHandler: "runc",
    createdAt: 1000n,
    stoppedAt: 0n,
    infraPid: 42,
    infraExitedAt: 0n,
    hostNetwork: false,
    netnsPath: "/run/netns/x",
    ips: ["10.0.0.2"],
    networkAttached: true,
    cgroupParent: "/berth/s1",
    files: { hostname: "", hosts: "", resolvConf: "", shm: "" },
    ...over,
  };
}

function container(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    version: 1,
    id: "c1",
    sandboxId: "s1",
    name: "app_web_shop_uid_0",
    config: {
      metadata: { name: "app", attempt: 2 },
      labels: { tier: "x" },
      annotations: {},
    } as unknown as ContainerRecord["config"],
    imageName: "busybox:1",
    imageId: "sha256:abc",
    imageRef: "sha256:abc",
    topChainId: "",
    runtimeHandler: "runc",
    logPath: "",
    createdAt: 2000n,
    startedAt: 3000n,
    finishedAt: 0n,
    exitCode: 0,
    reason: "",
    message: "",
    pid: 43,
    resources: null,
    cgroupPath: "/berth/s1/c1",
    startError: "",
    stopSignal: "",
    user: { uid: 0, gid: 0, additionalGids: [] },
    ...over,
  };
}

const opts = {
  driver: "cgroupfs" as const,
  podProcessCgroupsPath: (parent: string, id: string) => `${parent}/${id}`,
};

describe("metrics: sampling targets from runtime records", () => {
  it("finds pod cgroups for both drivers, none for a systemd pod without a slice", () => {
    expect(podCgroupPath("/kubepods/besteffort/pod1", "cgroupfs")).to.equal(
      "/kubepods/besteffort/pod1",
    );
    expect(podCgroupPath("/berth/abc", "cgroupfs")).to.equal("/berth/abc");
    expect(podCgroupPath("kubepods-besteffort-pod1.slice", "systemd")).to.equal(
      "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice",
    );
    expect(podCgroupPath("/berth/abc", "systemd")).to.equal(undefined);
    expect(podCgroupPath("/a/../b", "cgroupfs")).to.equal(undefined);
  });

  it("builds pods with their containers; host network and stopped pods read no netns", () => {
    const pods = buildTargets(
      [sandbox(), sandbox({ id: "s2", hostNetwork: true }), sandbox({ id: "s3", stoppedAt: 9n })],
      [container(), container({ id: "c2", finishedAt: 5000n })],
      opts,
    );
    expect(pods.map((p) => [p.id, p.ready, p.netPid])).to.deep.equal([
      ["s1", true, 42],
      ["s2", true, undefined],
      ["s3", false, undefined],
    ]);
    const [p] = pods;
    expect(p!.cgroupPath).to.equal("/berth/s1");
    expect(p!.infraCgroupPath).to.equal("/berth/s1/s1");
    expect(
      p!.containers.map((c) => [c.id, c.running, c.cgroupPath, c.name, c.attempt]),
    ).to.deep.equal([
      ["c1", true, "/berth/s1/c1", "app", 2],
      ["c2", false, "/berth/s1/c1", "app", 2],
    ]);
    expect(p!.containers[0]!.startedAtNs).to.equal(3000n);
  });

  it("reads a pod's readiness from its record: a live process under a dead infra's pid is not it", () => {
    // pid 1 is alive on every host; had a kill(pid, 0) been asked, this pod would look ready.
    const dead = sandbox({ id: "s4", infraPid: 1, infraExitedAt: 99n });
    const [pod] = buildTargets([dead], [], opts);
    expect([pod!.ready, pod!.netPid]).to.deep.equal([false, undefined]);
    expect(countStates([dead], []).sandboxes).to.deep.equal({
      SANDBOX_READY: 0,
      SANDBOX_NOTREADY: 1,
    });
  });

  it("counts containers and sandboxes by state, zeros included", () => {
    const counts = countStates(
      [sandbox(), sandbox({ id: "s2", infraExitedAt: 7n })],
      [container(), container({ id: "c2", startedAt: 0n })],
    );
    expect(counts).to.deep.equal({
      containers: {
        CONTAINER_CREATED: 1,
        CONTAINER_RUNNING: 1,
        CONTAINER_EXITED: 0,
        CONTAINER_UNKNOWN: 0,
      },
      sandboxes: { SANDBOX_READY: 1, SANDBOX_NOTREADY: 1 },
    });
  });
});

describe("metrics: writable layer usage", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-layer-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("counts allocated blocks and distinct inodes, hard links once", async () => {
    const upper = path.join(dir, "upper");
    await fs.mkdir(path.join(upper, "a/b"), { recursive: true });
    await fs.writeFile(path.join(upper, "a/b/big"), Buffer.alloc(256 * 1024, 1));
    await fs.link(path.join(upper, "a/b/big"), path.join(upper, "a/hard"));
    await fs.symlink("nowhere", path.join(upper, "link"));
    const u = (await measureDirUsage(upper))!;
    expect(u.inodes).to.equal(5n); // upper, a, b, big(+hard), link
    expect(u.bytes >= 256n * 1024n && u.bytes < 2n * 256n * 1024n).to.equal(true);
    expect(await measureDirUsage(path.join(dir, "missing"))).to.equal(undefined);
  });

  it("measures in the background on first ask, forgets containers nobody asks about", async () => {
    const measured: string[] = [];
    const cache = new LayerUsageCache({
      dirOf: (id) => `/layers/${id}`,
      nowNs: () => 7n,
      refreshMs: 60_000,
      measure: async (d) => {
        measured.push(d);
        return { bytes: 10n, inodes: 1n };
      },
    });
    try {
      expect(cache.get("c1")).to.equal(undefined);
      await new Promise((r) => setTimeout(r, 10));
      await cache.idle();
      expect(measured).to.deep.equal(["/layers/c1"]);
      expect(cache.get("c1")).to.deep.equal({ bytes: 10n, inodes: 1n, atNs: 7n });
    } finally {
      cache.close();
    }
  });
});

describe("metrics: device labels", () => {
  it("finds the mount holding a directory (longest mount point wins)", () => {
    const mountinfo = [
      "26 1 254:0 / / rw - ext4 /dev/vda rw",
      "30 26 0:40 / /var/lib/berth rw - xfs /dev/vdb1 rw",
      "31 26 0:41 / /var/lib/berthx rw - tmpfs tmpfs rw",
    ].join("\n");
    expect(mountSourceOf(mountinfo, "/var/lib/berth/overlay")).to.equal("/dev/vdb1");
    expect(mountSourceOf(mountinfo, "/var/lib/berth")).to.equal("/dev/vdb1");
    expect(mountSourceOf(mountinfo, "/var/lib/berthy")).to.equal("/dev/vda");
  });
});
