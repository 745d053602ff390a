// Issue #3 acceptance, first part, through the CRI image service of a real berthd: each test
// image (busybox, multi-layer with whiteouts/opaque dirs/links, OCI index, Docker schema2, zstd,
// 120 layers) pulls by tag and by digest, lists, reports status and config, unpacks to exactly
// the expected tree (checked on a read-only overlay of its snapshots, and once from inside a
// running container), and is removed, freeing its layers but not shared ones.
import { expect } from "chai";
import { ProcessRunner } from "../../../src/util/command.js";
import { type PodEnv, eventually, podConfig, startPodEnv } from "../../support/pod-env.js";
import { APP_UID, APP_GID } from "../../support/registry/images.js";
import { imageFsUsed, listIds, metricValue, verboseInfo } from "./cri-helpers.js";
import { describeTree, expectedTree, readSnapshots, withMountedStack } from "./image-tree.js";
import {
  busyboxTestImage,
  dockerTestImage,
  expectedSize,
  indexTestImage,
  manyLayersTestImage,
  multiLayerTestImage,
  pushTestImage,
  zstdTestImage,
  type TestImage,
} from "./test-images.js";

describe("image service: test images pull, list, status, unpack and remove (CRI, root)", function () {
  this.timeout(60_000);
  const runner = new ProcessRunner();
  let env: PodEnv;
  const img: Record<string, TestImage> = {};

  before(async function () {
    this.timeout(120_000);
    if (process.getuid?.() !== 0) {
      console.log("      skipped: needs root (overlay mounts, containers)");
      this.skip();
    }
    env = await startPodEnv({ network: false });
    for (const t of await Promise.all([
      busyboxTestImage(),
      multiLayerTestImage(),
      dockerTestImage(),
      indexTestImage(),
      zstdTestImage(),
      manyLayersTestImage(),
    ])) {
      img[t.repo] = t;
      await pushTestImage(env.registry, t);
    }
  });
  after(async () => {
    await env?.cleanup();
  });

  const t = (repo: string): TestImage => {
    const x = img[repo];
    if (!x) throw new Error(`no test image ${repo}`);
    return x;
  };
  const tagRef = (x: TestImage) => `${env.registry.host}/${x.repo}:1`;
  const digestRef = (x: TestImage) => `${env.registry.host}/${x.repo}@${x.topDigest}`;

  /** The whole round trip of one image; returns nothing, leaves nothing. */
  async function roundTrip(x: TestImage): Promise<void> {
    const c = env.berthd.client.call;
    const id = x.image.config.digest;
    const snapsBefore = await readSnapshots(env.berthd.root);

    const byTag = await c.PullImage({ image: { image: tagRef(x) } });
    expect(byTag.image_ref).to.equal(id);
    expect(await listIds(env.berthd)).to.include(id);
    const listed = (await c.ListImages({ filter: { image: { image: tagRef(x) } } })).images;
    expect(listed.map((i) => i.id)).to.deep.equal([id]);
    expect(listed[0]!.repo_tags).to.deep.equal([tagRef(x)]);
    expect(listed[0]!.repo_digests).to.deep.equal([digestRef(x)]);
    expect(listed[0]!.size).to.equal(expectedSize(x));

    const st = await c.ImageStatus({ image: { image: tagRef(x) } });
    expect(st.image!.id).to.equal(id);
    expect(st.image!.repo_tags).to.deep.equal([tagRef(x)]);
    expect(st.image!.repo_digests).to.deep.equal([digestRef(x)]);
    const info = await verboseInfo(env.berthd, tagRef(x));
    expect(info.imageSpec.config?.Cmd).to.deep.equal(x.cmd);
    expect(info.imageSpec.rootfs.diff_ids).to.deep.equal(x.image.layers.map((l) => l.diffId));
    expect(info.layers.map((l) => l.digest)).to.deep.equal(x.image.layers.map((l) => l.digest));
    expect(info.manifestDigest).to.equal(x.image.manifest.digest);
    expect(info.chainID).to.equal(info.layers[info.layers.length - 1]!.chainId);

    const byDigest = await c.PullImage({ image: { image: digestRef(x) } });
    expect(byDigest.image_ref).to.equal(id);
    const st2 = await c.ImageStatus({ image: { image: digestRef(x) } });
    expect(st2.image!.id).to.equal(id);
    expect(st2.image!.repo_tags).to.deep.equal([tagRef(x)]);
    expect(st2.image!.repo_digests).to.deep.equal([digestRef(x)]);
    expect((await c.ImageStatus({ image: { image: id.slice(7, 19) } })).image!.id).to.equal(id);

    const tree = await withMountedStack(env.berthd.root, info.chainID, runner, describeTree);
    expect(tree).to.deep.equal(expectedTree(x.layerEntries));

    await c.RemoveImage({ image: { image: digestRef(x) } });
    expect(await listIds(env.berthd)).to.not.include(id);
    expect((await c.ImageStatus({ image: { image: tagRef(x) } })).image).to.equal(null);
    // Every layer snapshot this image added is gone; those that were there before stay.
    const after = await readSnapshots(env.berthd.root);
    expect([...after.keys()].sort()).to.deep.equal([...snapsBefore.keys()].sort());
  }

  it("busybox: pulls by tag and digest, lists, status, exact tree, removes", async () => {
    await roundTrip(t("t/busybox"));
  });

  it("multi-layer: whiteouts, opaque dirs, hard and symbolic links, owners", async () => {
    const x = t("t/multi");
    await roundTrip(x);
    // The oracle above is generic; spell out what this image is about as well.
    await env.berthd.client.call.PullImage({ image: { image: tagRef(x) } });
    const info = await verboseInfo(env.berthd, tagRef(x));
    const tree = await withMountedStack(env.berthd.root, info.chainID, runner, describeTree);
    const line = (p: string) => tree.find((l) => l.startsWith(`${p} `));
    expect(line("data/removed.txt"), "whiteout deletes").to.equal(undefined);
    expect(tree.filter((l) => l.startsWith("opaque/"))).to.have.length(1);
    expect(line("opaque/new.txt")).to.match(/^opaque\/new.txt 0644 0:0 file \w+ nlink=1$/);
    expect(line("data/link")).to.equal("data/link -> keep.txt");
    expect(line("data/hard.txt")).to.match(/ nlink=2$/);
    expect(line("data/keep.txt")!.replace("keep.txt", "hard.txt")).to.equal(line("data/hard.txt"));
    expect(line("app/run.sh")).to.match(new RegExp(`^app/run.sh 0755 ${APP_UID}:${APP_GID} file`));
    expect(line("tmp")).to.equal("tmp 1777 0:0 dir");
    await env.berthd.client.call.RemoveImage({ image: { image: tagRef(x) } });
  });

  it("OCI index: picks linux/amd64, by index digest and by platform manifest digest", async () => {
    const x = t("t/index");
    await roundTrip(x);
    const c = env.berthd.client.call;
    const platformRef = `${env.registry.host}/${x.repo}@${x.image.manifest.digest}`;
    const res = await c.PullImage({ image: { image: platformRef } });
    expect(res.image_ref).to.equal(x.image.config.digest);
    const arm = x.index!.images.find((i) => i.platform.architecture === "arm64")!;
    expect(res.image_ref).to.not.equal(arm.config.digest);
    const st = await c.ImageStatus({ image: { image: platformRef } });
    expect(st.image!.repo_digests).to.deep.equal([platformRef]);
    expect(st.image!.repo_tags).to.deep.equal([]);
    await c.RemoveImage({ image: { image: res.image_ref } });
  });

  it("Docker schema2 manifest", async () => {
    await roundTrip(t("t/docker"));
  });

  it("zstd, gzip and uncompressed layers in one image", async () => {
    await roundTrip(t("t/zstd"));
  });

  it("120 layers pull, mount and remove quickly", async () => {
    const t0 = Date.now();
    await roundTrip(t("t/many"));
    expect(Date.now() - t0, "120-layer round trip ms").to.be.below(30_000);
  });

  it("layers shared by two images survive removal of one; ImageFsInfo follows", async () => {
    const c = env.berthd.client.call;
    const oci = t("t/multi");
    const docker = t("t/docker");
    const used0 = await imageFsUsed(env.berthd);
    const snaps0 = await readSnapshots(env.berthd.root);
    const m0 = await env.berthd.metricsText();

    await c.PullImage({ image: { image: tagRef(oci) } });
    const snaps1 = await readSnapshots(env.berthd.root);
    // Layer 0 is busybox, already there for the pod env's image; layers 1-3 are new.
    expect(snaps1.size - snaps0.size).to.equal(3);
    const used1 = await imageFsUsed(env.berthd);
    expect(used1 > used0, `${used1} > ${used0}`).to.equal(true);

    await c.PullImage({ image: { image: tagRef(docker) } });
    expect((await readSnapshots(env.berthd.root)).size).to.equal(snaps1.size);
    const m1 = await env.berthd.metricsText();
    const delta = (s: string) => metricValue(m1, s) - metricValue(m0, s);
    expect(delta('berth_image_pulls_total{result="success"}')).to.equal(2);
    expect(delta("berth_image_layers_reused_total"), "busybox once, all four once").to.equal(5);
    const layerBytes = oci.image.layers.slice(1).reduce((n, l) => n + l.size, 0);
    expect(delta("berth_image_pull_bytes_total")).to.equal(layerBytes);

    await c.RemoveImage({ image: { image: tagRef(oci) } });
    expect((await readSnapshots(env.berthd.root)).size, "shared layers stay").to.equal(snaps1.size);
    const info = await verboseInfo(env.berthd, tagRef(docker));
    const tree = await withMountedStack(env.berthd.root, info.chainID, runner, describeTree);
    expect(tree).to.deep.equal(expectedTree(docker.layerEntries));

    await c.RemoveImage({ image: { image: tagRef(docker) } });
    const snaps3 = await readSnapshots(env.berthd.root);
    expect([...snaps3.keys()].sort()).to.deep.equal([...snaps0.keys()].sort());
    const used3 = await imageFsUsed(env.berthd);
    expect(used3 < used1, `${used3} < ${used1}`).to.equal(true);
    // The pod env's busybox still has its (shared) base layer and runs.
    const busy = await verboseInfo(env.berthd, env.image);
    expect(snaps3.has(busy.chainID)).to.equal(true);
  });

  it("a container of the multi-layer image sees the same tree", async () => {
    const c = env.berthd.client.call;
    const x = t("t/multi");
    await c.PullImage({ image: { image: tagRef(x) } });
    const pod = podConfig(env, "tree", {
      linux: { security_context: { namespace_options: { network: "NODE", pid: "CONTAINER" } } },
    });
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
    try {
      const { container_id: ctrId } = await c.CreateContainer({
        pod_sandbox_id: podId,
        config: {
          metadata: { name: "tree", attempt: 0 },
          image: { image: tagRef(x) },
          command: ["/bin/sleep", "60"],
          log_path: "tree.log",
        },
        sandbox_config: pod,
      });
      await c.StartContainer({ container_id: ctrId });
      await eventually(async () => {
        const s = await c.ContainerStatus({ container_id: ctrId });
        expect(s.status!.state).to.equal("CONTAINER_RUNNING");
      });
      const script = [
        "cd /",
        "stat -c '%n %a %u:%g %F %h %i' data/keep.txt data/hard.txt app/run.sh tmp opaque",
        "readlink data/link",
        "ls -A opaque",
        "cat data/changed.txt; echo",
        "test -e data/removed.txt && echo removed-still-there || echo removed-gone",
        "/app/run.sh",
      ].join("; ");
      const r = await c.ExecSync({
        container_id: ctrId,
        cmd: ["/bin/sh", "-c", script],
        timeout: 10,
      });
      expect(r.exit_code, r.stderr.toString()).to.equal(0);
      const lines = r.stdout.toString().trim().split("\n");
      const inode = (l: string | undefined) => l?.split(" ").pop();
      expect(lines.slice(0, 5).map((l) => l.split(" ").slice(0, -1).join(" "))).to.deep.equal([
        "data/keep.txt 644 0:0 regular file 2",
        "data/hard.txt 644 0:0 regular file 2",
        `app/run.sh 755 ${APP_UID}:${APP_GID} regular file 1`,
        "tmp 1777 0:0 directory 2",
        "opaque 755 0:0 directory 2",
      ]);
      expect(inode(lines[0]), "hard link shares the inode").to.equal(inode(lines[1]));
      expect(lines.slice(5)).to.deep.equal([
        "keep.txt",
        "new.txt",
        "v2",
        "removed-gone",
        "hello from app",
      ]);
    } finally {
      await c.StopPodSandbox({ pod_sandbox_id: podId });
      await c.RemovePodSandbox({ pod_sandbox_id: podId });
      await c.RemoveImage({ image: { image: tagRef(x) } });
    }
  });
});
