// What kubelet reads back from berth about real containers: log rotation through
// ReopenContainerLog, verbose ContainerStatus, labels and annotations byte for byte, and the
// ListContainers / StreamContainers filters.
import { existsSync, promises as fs, readFileSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import type { ContainerFilter } from "../../../src/gen/runtime/v1/ContainerFilter.js";
import { parseCriLog } from "../../../src/runtime/oci/cri-log.js";
import { defaultHandler, eventually, type PodEnv, startPodEnv } from "../../support/pod-env.js";
import {
  createContainer,
  expectNothingLeft,
  type Pod,
  runPod,
  verboseInfo,
  waitState,
} from "./behaviour-helpers.js";

function numbersIn(text: string): number[] {
  return parseCriLog(text)
    .map((e) => /^line-(\d+)$/.exec(e.content))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
}

describe("runtime behaviour: status, lists and logs (runc, conmon, overlayfs)", function () {
  this.timeout(120_000);
  let env: PodEnv;
  let pod: Pod;
  const pods = new Set<string>();

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
    pod = await runPod(env, "status", pods);
  });
  after(async () => {
    await env?.cleanup();
  });

  it("ReopenContainerLog: a rotated log continues in a new file at the original path", async () => {
    const c = env.berthd.client.call;
    const id = await createContainer(env, pod, "ticker", [
      "/bin/sh",
      "-c",
      "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.1; done",
    ]);
    await c.StartContainer({ container_id: id });
    const logPath = (await c.ContainerStatus({ container_id: id })).status!.log_path;
    await eventually(async () => {
      expect(numbersIn(await fs.readFile(logPath, "utf8")).length).to.be.at.least(3);
    });
    const rotated = `${logPath}.1`;
    await fs.rename(logPath, rotated);
    await c.ReopenContainerLog({ container_id: id });
    await eventually(async () => {
      expect(numbersIn(await fs.readFile(logPath, "utf8")).length).to.be.at.least(3);
    });
    await c.StopContainer({ container_id: id, timeout: 0 });
    const old = numbersIn(await fs.readFile(rotated, "utf8"));
    const fresh = numbersIn(await fs.readFile(logPath, "utf8"));
    // Nothing lost or duplicated across the rotation: the new file continues the old one.
    expect(old[0]).to.equal(0);
    expect([...old, ...fresh]).to.deep.equal([...old, ...fresh].map((_, i) => i));
    expect(fresh[0]).to.equal(old[old.length - 1]! + 1);

    // Stopped: reopening fails and creates nothing.
    await fs.rename(logPath, `${logPath}.2`);
    try {
      await c.ReopenContainerLog({ container_id: id });
      expect.fail("reopened the log of a stopped container");
    } catch (err) {
      const e = err as { code: number; details: string };
      expect(e.code, e.details).to.equal(status.FAILED_PRECONDITION);
      expect(e.details).to.include("CONTAINER_EXITED");
    }
    expect(existsSync(logPath)).to.equal(false);
    await c.RemoveContainer({ container_id: id });
  });

  it("verbose ContainerStatus holds the pid, the OCI spec and the cgroup path", async () => {
    const c = env.berthd.client.call;
    const id = await createContainer(env, pod, "verbose", ["/bin/sleep", "600"], {
      linux: { resources: { memory_limit_in_bytes: 48 * 1024 * 1024 } },
    });
    await c.StartContainer({ container_id: id });
    await waitState(env, id, "CONTAINER_RUNNING");
    const info = await verboseInfo(env, id);
    const pid = info["pid"] as number;
    expect(pid).to.be.a("number").and.greaterThan(0);
    // The pid is the container's process as the host sees it.
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).to.include.members([
      "/bin/sleep",
      "600",
    ]);
    expect(info["sandboxID"]).to.equal(pod.id);
    expect(info["runtimeHandler"]).to.equal(await defaultHandler(env));
    expect(info["cgroupPath"]).to.equal(`/berth/${pod.id}/${id}`);
    const spec = info["runtimeSpec"] as {
      ociVersion: string;
      process: { args: string[] };
      linux: { cgroupsPath: string; resources: { memory?: { limit: number } } };
      annotations: Record<string, string>;
    };
    expect(spec.ociVersion).to.match(/^1\./);
    expect(spec.process.args).to.deep.equal(["/bin/sleep", "600"]);
    expect(spec.linux.cgroupsPath).to.equal(info["cgroupPath"]);
    expect(spec.linux.resources.memory!.limit).to.equal(48 * 1024 * 1024);
    expect(spec.annotations["io.kubernetes.cri.sandbox-id"]).to.equal(pod.id);
    const plain = await c.ContainerStatus({ container_id: id });
    expect(plain.info).to.deep.equal({});
    await c.RemoveContainer({ container_id: id });
  });

  it("echoes labels and annotations byte for byte; filters ListContainers and StreamContainers", async () => {
    const c = env.berthd.client.call;
    const labels = {
      "example.com/role": "web=front,back",
      tier: "",
      emoji: "🚢 ✓",
      spaces: "  a\tb  ",
    };
    const annotations = {
      "example.com/json": '{"a":[1,2],"b":"\\u00e9"}',
      multiline: "line one\nline two\n",
      unicode: "ünïcödé — 日本語",
    };
    const running = await createContainer(env, pod, "running", ["/bin/sleep", "600"], {
      labels: { ...labels, set: "a" },
      annotations,
    });
    await c.StartContainer({ container_id: running });
    const created = await createContainer(env, pod, "created", ["/bin/true"], {
      labels: { set: "a", which: "created" },
    });
    const exited = await createContainer(env, pod, "exited", ["/bin/true"], {
      labels: { set: "b" },
    });
    await c.StartContainer({ container_id: exited });
    await waitState(env, exited, "CONTAINER_EXITED");
    await waitState(env, running, "CONTAINER_RUNNING");
    const other = await runPod(env, "other", pods);
    const elsewhere = await createContainer(env, other, "elsewhere", ["/bin/true"], {
      labels: { set: "a" },
    });

    const st = (await c.ContainerStatus({ container_id: running })).status!;
    expect(st.labels).to.deep.equal({ ...labels, set: "a" });
    expect(st.annotations).to.deep.equal(annotations);
    const listedRunning = (await c.ListContainers({ filter: { id: running } })).containers;
    expect(listedRunning.map((x) => x.id)).to.deep.equal([running]);
    expect(listedRunning[0]!.labels).to.deep.equal({ ...labels, set: "a" });
    expect(listedRunning[0]!.annotations).to.deep.equal(annotations);

    const cases: [ContainerFilter, string[]][] = [
      [{ pod_sandbox_id: pod.id }, [running, created, exited]],
      [{ pod_sandbox_id: pod.id.slice(0, 10) }, [running, created, exited]],
      [{ pod_sandbox_id: other.id }, [elsewhere]],
      [{ state: { state: "CONTAINER_RUNNING" } }, [running]],
      [{ state: { state: "CONTAINER_CREATED" } }, [created, elsewhere]],
      [{ state: { state: "CONTAINER_EXITED" } }, [exited]],
      [{ label_selector: { set: "a" } }, [running, created, elsewhere]],
      [{ label_selector: { set: "a", emoji: "🚢 ✓" } }, [running]],
      [{ label_selector: { set: "a", emoji: "🚢" } }, []],
      [{ label_selector: { set: "a" }, pod_sandbox_id: pod.id }, [running, created]],
      [
        {
          label_selector: { set: "a" },
          state: { state: "CONTAINER_CREATED" },
          pod_sandbox_id: pod.id,
        },
        [created],
      ],
      [{ id: exited.slice(0, 12) }, [exited]],
      [{}, [running, created, exited, elsewhere]],
    ];
    for (const [filter, want] of cases) {
      const listed = (await c.ListContainers({ filter })).containers.map((x) => x.id);
      expect(listed.sort(), JSON.stringify(filter)).to.deep.equal([...want].sort());
      const streamed = (await c.StreamContainers({ filter })).flatMap((m) =>
        m.containers.map((x) => x.id),
      );
      expect(streamed.sort(), `stream ${JSON.stringify(filter)}`).to.deep.equal([...want].sort());
    }
    for (const id of [running, created, exited, elsewhere]) {
      await c.RemoveContainer({ container_id: id });
    }
  });

  it("leaves no mounts, pod cgroups, netns or conmon processes behind", async () => {
    await expectNothingLeft(env, pods);
  });
});
