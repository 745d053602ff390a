// Records on disk keep the format berth has always written (version 1, timestamps as decimal
// strings), so the records of a berth before the typed records load after an upgrade, and are
// written back byte for byte the same.
import { expect } from "chai";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { silentLogger } from "../../../src/log.js";
import { containerCodec, sandboxCodec } from "../../../src/runtime/record-codecs.js";
import {
  type ContainerRecord,
  type SandboxRecord,
  containerState,
  sandboxState,
} from "../../../src/runtime/records.js";
import { RecordStore } from "../../../src/store/record-store.js";

// As the previous berth wrote them (src/util/atomic-file.ts: JSON.stringify(value, null, 1)).
const V1_SANDBOX = {
  version: 1,
  id: "5b1c".padEnd(64, "a"),
  name: "web_default_uid-1_0",
  config: { metadata: { name: "web", uid: "uid-1", namespace: "default", attempt: 0 } },
  runtimeHandler: "runc",
  createdAt: "1764529200123456789",
  stoppedAt: "0",
  infraPid: 4242,
  infraExitedAt: "1764529300000000001",
  conmonPid: 4240,
  conmonStartTime: "123456",
  infraStartTime: "123460",
  hostNetwork: false,
  netnsPath: "/var/run/netns/berth-5b1c",
  ips: ["10.88.0.7"],
  networkAttached: true,
  cgroupParent: "/kubepods/pod-uid-1",
  files: { hostname: "/h", hosts: "/hosts", resolvConf: "/r", shm: "/shm" },
};

const V1_CONTAINER = {
  version: 1,
  id: "9f3e".padEnd(64, "b"),
  sandboxId: V1_SANDBOX.id,
  name: "app_web_default_uid-1_0",
  config: { metadata: { name: "app", attempt: 0 }, image: { image: "busybox" } },
  imageName: "busybox",
  imageId: "sha256:" + "c".repeat(64),
  imageRef: "docker.io/library/busybox@sha256:" + "d".repeat(64),
  topChainId: "sha256:" + "e".repeat(64),
  runtimeHandler: "runc",
  logPath: "/var/log/pods/app.log",
  createdAt: "1764529200200000000",
  startedAt: "1764529200300000000",
  finishedAt: "0",
  exitCode: 0,
  reason: "",
  message: "",
  pid: 4300,
  pidStartTime: "123500",
  conmonPid: 4299,
  conmonStartTime: "123499",
  resources: null,
  cgroupPath: "/kubepods/pod-uid-1/9f3e",
  startError: "",
  stopSignal: "SIGTERM",
  user: { uid: 0, gid: 0, additionalGids: [10] },
};

describe("state: records on disk (version 1)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-records-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const writeV1 = (id: string, rec: object) =>
    writeFile(path.join(dir, `${id}.json`), JSON.stringify(rec, null, 1) + "\n");

  it("loads a v1 sandbox record with bigint times and writes it back unchanged", async () => {
    await writeV1(V1_SANDBOX.id, V1_SANDBOX);
    const store = new RecordStore<SandboxRecord>(dir, "pod sandbox", sandboxCodec);
    await store.load(silentLogger());
    const rec = store.get(V1_SANDBOX.id)!;
    expect([rec.createdAt, rec.stoppedAt, rec.infraExitedAt]).to.deep.equal([
      1764529200123456789n,
      0n,
      1764529300000000001n,
    ]);
    expect(rec.ips).to.deep.equal(["10.88.0.7"]);
    expect(sandboxState(rec)).to.equal("SANDBOX_NOTREADY");
    const before = await readFile(path.join(dir, `${rec.id}.json`), "utf8");
    await store.put(rec);
    expect(await readFile(path.join(dir, `${rec.id}.json`), "utf8")).to.equal(before);
  });

  it("loads a v1 container record and saves a status change in the same format", async () => {
    await writeV1(V1_CONTAINER.id, V1_CONTAINER);
    const store = new RecordStore<ContainerRecord>(dir, "container", containerCodec);
    await store.load(silentLogger());
    const rec = store.get(V1_CONTAINER.id)!;
    expect([rec.createdAt, rec.startedAt, rec.finishedAt]).to.deep.equal([
      1764529200200000000n,
      1764529200300000000n,
      0n,
    ]);
    expect(containerState(rec)).to.equal("CONTAINER_RUNNING");
    await store.update(rec.id, (r) => {
      r.finishedAt = 1764529200400000000n;
      r.exitCode = 3;
    });
    const disk = JSON.parse(await readFile(path.join(dir, `${rec.id}.json`), "utf8")) as object;
    expect(disk).to.deep.equal({ ...V1_CONTAINER, finishedAt: "1764529200400000000", exitCode: 3 });
    // And a fresh store (a restart) reads the change back.
    const again = new RecordStore<ContainerRecord>(dir, "container", containerCodec);
    await again.load(silentLogger());
    expect(containerState(again.get(rec.id)!)).to.equal("CONTAINER_EXITED");
  });

  it("a sandbox record from before infraExitedAt loads as running; bad ones are skipped", async () => {
    const { infraExitedAt: _dropped, ...older } = { ...V1_SANDBOX, id: "old" };
    await writeV1("old", older);
    await writeV1("badtime", { ...V1_SANDBOX, id: "badtime", createdAt: "12abc" });
    await writeV1("v2", { ...V1_SANDBOX, id: "v2", version: 2 });
    await writeV1("numeric", { ...V1_SANDBOX, id: "numeric", stoppedAt: 0 });
    const store = new RecordStore<SandboxRecord>(dir, "pod sandbox", sandboxCodec);
    await store.load(silentLogger());
    expect(store.list().map((r) => r.id)).to.deep.equal(["old"]);
    expect(store.get("old")!.infraExitedAt).to.equal(0n);
    expect(sandboxState(store.get("old")!)).to.equal("SANDBOX_READY");
    // Skipped files stay on disk for a human to look at.
    expect((await readdir(dir)).length).to.equal(4);
  });

  it("bigint times survive the store's copies", async () => {
    const store = new RecordStore<ContainerRecord>(dir, "container", containerCodec);
    const rec = containerCodec.decode(V1_CONTAINER)!;
    await store.put(rec);
    const copy = store.get(rec.id)!;
    expect(typeof copy.startedAt).to.equal("bigint");
    expect(store.list()[0]!.createdAt).to.equal(1764529200200000000n);
  });
});
