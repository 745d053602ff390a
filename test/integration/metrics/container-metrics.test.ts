// Per-container cgroup metrics on the real runtime: CPU, memory, limits, OOM kills, network
// and writable layers, each checked through the CRI stats RPCs and the /metrics text (which
// share one sample, so the same counter agrees exactly), then through a real Prometheus.
import { expect } from "chai";
import {
  eventually,
  removeAllPods,
  type PodEnv,
  runPodWith,
  startPodEnv,
} from "../../support/pod-env.js";
import {
  findSeries,
  parseExposition,
  PROMETHEUS_BIN,
  startPrometheus,
  type ExpositionSample,
  type TestPrometheus,
} from "../../support/prometheus.js";
import { existsSync, readFileSync } from "node:fs";

const MiB = 1024 * 1024;

describe("per-container metrics: CRI stats and /metrics (runc, cgroups)", function () {
  this.timeout(180_000);
  let env: PodEnv;
  let prom: TestPrometheus | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) {
      console.log("    skipped: needs root (cgroups, runc, CNI)");
      this.skip();
    }
    env = await startPodEnv();
  });
  afterEach(async () => {
    // Each test's pods go, passed or failed, so counts and series of the next start clean.
    if (env !== undefined) await removeAllPods(env.berthd);
  });
  after(async () => {
    await prom?.stop();
    await env?.cleanup();
  });

  const call = () => env.berthd.client.call;
  const scrape = async (): Promise<ExpositionSample[]> =>
    parseExposition(await env.berthd.metricsText());
  const one = (samples: ExpositionSample[], name: string, labels: Record<string, string>) => {
    const found = findSeries(samples, name, labels);
    expect(found, `${name} ${JSON.stringify(labels)}`).to.have.length(1);
    return found[0]!;
  };

  /** What the container and its memory cgroup say, for a failed OOM wait's message. */
  const oomDiagnosis = async (podId: string, ctrId: string): Promise<string> => {
    const st = await call().ContainerStatus({ container_id: ctrId });
    const { state, reason, exit_code: code } = st.status!;
    const file = `/sys/fs/cgroup/memory/berth/${podId}/${ctrId}/memory.oom_control`;
    const oom = existsSync(file) ? readFileSync(file, "utf8").replace(/\n/g, " ") : "(no file)";
    return `container ${state} reason=${reason} exit=${code}; ${file}: ${oom}`;
  };

  it("a CPU burner: counter grows, rate near a core, CRI and /metrics agree on one sample", async () => {
    const { podId, ctrId } = await runPodWith(env, "burn", ["sh", "-c", "while true; do :; done"]);
    const first = await eventually(async () => {
      const s = one(await scrape(), "container_cpu_usage_seconds_total", { container: "burn" });
      expect(s.value).to.be.greaterThan(0);
      return s;
    });
    expect(first.labels).to.include({
      pod: "burn",
      namespace: "berth-test",
      image: env.image,
      name: ctrId,
      cpu: "total",
    });
    expect(first.labels.id).to.match(new RegExp(`^/berth/${podId}/${ctrId}$`));
    await new Promise((r) => setTimeout(r, 2000));
    // The scrape and the RPC right after it share one sample unless a cache period ends between.
    await eventually(async () => {
      const samples = await scrape();
      const stats = await call().ContainerStats({ container_id: ctrId });
      const s = one(samples, "container_cpu_usage_seconds_total", { container: "burn" });
      expect(s.value).to.be.greaterThan(first.value + 0.5);
      const ns = BigInt(stats.stats!.cpu!.usage_core_nano_seconds!.value);
      const [whole, frac = ""] = s.raw.split(".");
      expect(BigInt(whole!) * 1_000_000_000n + BigInt(frac.padEnd(9, "0"))).to.equal(ns);
    });
    // A rate needs two samples: take another after the cache period.
    await new Promise((r) => setTimeout(r, 1100));
    const stats = await call().ContainerStats({ container_id: ctrId });
    const nanoCores = Number(stats.stats!.cpu!.usage_nano_cores!.value);
    expect(nanoCores).to.be.greaterThan(0.2e9).and.lessThan(2.2e9);
    expect(stats.stats!.attributes).to.deep.include({ id: ctrId });
    expect(stats.stats!.attributes!.metadata).to.deep.include({ name: "burn" });
    // Pod-level (no cgroup_parent was given: berth's /berth/<id>): series with container="".
    const samples = await scrape();
    const pod = one(samples, "container_cpu_usage_seconds_total", { container: "", pod: "burn" });
    expect(pod.labels.id).to.equal(`/berth/${podId}`);
    expect(pod.value).to.be.greaterThan(0);
    const podStats = await call().PodSandboxStats({ pod_sandbox_id: podId });
    const linux = podStats.stats!.linux!;
    expect(BigInt(linux.cpu!.usage_core_nano_seconds!.value) > 0n).to.equal(true);
    expect(linux.containers.map((c) => c.attributes!.id)).to.deep.equal([ctrId]);
    // The container's shell alone: the pod has no infra process (drop_infra_ctr).
    expect(Number(linux.process!.process_count!.value)).to.equal(1);
    expect(linux.network!.default_interface!.name).to.equal("eth0");
    const listed = await call().ListContainerStats({ filter: { pod_sandbox_id: podId } });
    expect(listed.stats.map((s) => s.attributes!.id)).to.deep.equal([ctrId]);
    const byLabel = await call().ListPodSandboxStats({
      filter: { label_selector: { app: "burn" } },
    });
    expect(byLabel.stats.map((s) => s.attributes!.id)).to.deep.equal([podId]);
  });

  it("50 MiB held in a shell variable: working set ≥ 50 MiB, the limit in spec and available", async () => {
    const limit = 256 * MiB;
    // The loop keeps the shell (and its variable) alive: ash execs a trailing lone command.
    const { ctrId } = await runPodWith(
      env,
      "mem",
      [
        "sh",
        "-c",
        `x=$(head -c ${50 * MiB} /dev/zero | busybox tr '\\0' a); while :; do sleep 3600; done`,
      ],
      {},
      { linux: { resources: { memory_limit_in_bytes: String(limit) } } },
    );
    const stats = await eventually(async () => {
      const s = await call().ContainerStats({ container_id: ctrId });
      expect(Number(s.stats!.memory!.working_set_bytes!.value)).to.be.at.least(50 * MiB);
      return s;
    }, 30_000);
    const mem = stats.stats!.memory!;
    expect(BigInt(mem.available_bytes!.value)).to.equal(
      BigInt(limit) - BigInt(mem.working_set_bytes!.value),
    );
    expect(Number(mem.usage_bytes!.value)).to.be.at.least(Number(mem.working_set_bytes!.value));
    expect(Number(mem.rss_bytes!.value)).to.be.at.least(50 * MiB);
    const samples = await scrape();
    const ws = one(samples, "container_memory_working_set_bytes", { container: "mem" });
    expect(ws.value).to.be.at.least(50 * MiB);
    expect(one(samples, "container_spec_memory_limit_bytes", { container: "mem" }).value).to.equal(
      limit,
    );
    expect(one(samples, "container_memory_rss", { container: "mem" }).value).to.be.at.least(
      50 * MiB,
    );
    const podWs = one(samples, "container_memory_working_set_bytes", { container: "", pod: "mem" });
    expect(podWs.value).to.be.at.least(50 * MiB);
  });

  it("an OOM-killed child: the container lives on and container_oom_events_total counts it", async () => {
    // The inner shell outgrows the 32 MiB limit and is killed; the outer one keeps the cgroup.
    // The inner shell asks to be the OOM killer's first choice, so the victim never depends on
    // the kernel's reckoning of two small shells.
    const inner = `echo 1000 > /proc/self/oom_score_adj; x=$(head -c ${96 * MiB} /dev/zero | busybox tr "\\0" a)`;
    const script = `sh -c '${inner}'; sleep 3600`;
    const { podId, ctrId } = await runPodWith(
      env,
      "oom",
      ["sh", "-c", script],
      {},
      {
        linux: { resources: { memory_limit_in_bytes: String(32 * MiB) } },
      },
    );
    const series = await eventually(async () => {
      const s = one(await scrape(), "container_oom_events_total", { container: "oom" });
      expect(s.value).to.be.at.least(1);
      return s;
    }, 30_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; then ${await oomDiagnosis(podId, ctrId)}`);
    });
    expect(series.labels.name).to.equal(ctrId);
    // The pod-level series (container="") includes its containers' kills, as cAdvisor's does.
    const podSeries = one(await scrape(), "container_oom_events_total", {
      container: "",
      pod: "oom",
    });
    expect(podSeries.value).to.be.at.least(series.value);
    const status = await call().ContainerStatus({ container_id: ctrId });
    expect(status.status!.state).to.equal("CONTAINER_RUNNING");
    // The same counter through the CRI's own metrics (KEP-2371).
    const descriptors = await call().ListMetricDescriptors({});
    const desc = descriptors.descriptors.find((d) => d.name === "container_oom_events_total")!;
    expect(desc.label_keys).to.deep.equal(["container", "id", "image", "name", "namespace", "pod"]);
    const metrics = await call().ListPodSandboxMetrics({});
    const podMetrics = metrics.pod_metrics.find((p) => p.pod_sandbox_id === podId)!;
    const ctr = podMetrics.container_metrics.find((c) => c.container_id === ctrId)!;
    const oom = ctr.metrics.find((m) => m.name === "container_oom_events_total")!;
    expect(oom.metric_type).to.equal("COUNTER");
    expect(Number(oom.value!.value)).to.be.at.least(1);
    expect(oom.label_values).to.deep.equal([
      "oom",
      series.labels.id,
      env.image,
      ctrId,
      "berth-test",
      "oom",
    ]);
    expect(BigInt(oom.timestamp) > 0n).to.equal(true);
  });

  it("network bytes grow on both pods after traffic between them", async () => {
    // busybox nc quits at stdin's end without draining; an HTTP download always completes.
    const server = await runPodWith(env, "tx", [
      "sh",
      "-c",
      `mkdir /www && head -c ${2 * MiB} /dev/zero > /www/big && busybox httpd -f -p 8080 -h /www`,
    ]);
    const st = await call().PodSandboxStatus({ pod_sandbox_id: server.podId });
    const ip = st.status!.network!.ip;
    const counters = async (pod: string, podId: string) => {
      const samples = await scrape();
      const labels = { pod, interface: "eth0" };
      const rx = one(samples, "container_network_receive_bytes_total", labels);
      const tx = one(samples, "container_network_transmit_bytes_total", labels);
      expect(rx.labels.container).to.equal("");
      const stats = await call().PodSandboxStats({ pod_sandbox_id: podId });
      const eth0 = stats.stats!.linux!.network!.default_interface!;
      return {
        rx: rx.value,
        tx: tx.value,
        criRx: Number(eth0.rx_bytes!.value),
        criTx: Number(eth0.tx_bytes!.value),
      };
    };
    const before = await eventually(() => counters("tx", server.podId));
    const client = await runPodWith(env, "rx", [
      "sh",
      "-c",
      `until wget -q -O /dev/null http://${ip}:8080/big; do sleep 0.2; done; sleep 3600`,
    ]);
    await eventually(async () => {
      const sent = await counters("tx", server.podId);
      expect(sent.tx - before.tx).to.be.at.least(2 * MiB);
      expect(sent.criTx - before.criTx).to.be.at.least(2 * MiB);
      const got = await counters("rx", client.podId);
      expect(got.rx).to.be.at.least(2 * MiB);
      expect(got.criRx).to.be.at.least(2 * MiB);
    }, 30_000);
  });

  it("writable layer usage is measured in the background; a removed container's series go", async () => {
    const { ctrId } = await runPodWith(env, "disk", [
      "sh",
      "-c",
      `head -c ${5 * MiB} /dev/zero > /big; sleep 3600`,
    ]);
    // Let the write finish before the first sample asks for the layer.
    await new Promise((r) => setTimeout(r, 1500));
    const stats = await eventually(async () => {
      await call().ListContainerStats({});
      const s = await call().ContainerStats({ container_id: ctrId });
      expect(Number(s.stats!.writable_layer?.used_bytes?.value ?? 0)).to.be.at.least(5 * MiB);
      return s;
    });
    expect(stats.stats!.writable_layer!.fs_id!.mountpoint).to.equal(env.berthd.root);
    expect(Number(stats.stats!.writable_layer!.inodes_used!.value)).to.be.at.least(2);
    const usage = one(await scrape(), "container_fs_usage_bytes", { container: "disk" });
    expect(usage.value).to.be.at.least(5 * MiB);
    await call().StopContainer({ container_id: ctrId, timeout: "0" });
    await call().RemoveContainer({ container_id: ctrId });
    await eventually(async () => {
      const samples = await scrape();
      expect(samples.filter((s) => s.labels.name === ctrId)).to.deep.equal([]);
      const listed = await call().ListContainerStats({});
      expect(listed.stats.map((s) => s.attributes!.id)).to.not.include(ctrId);
    });
    // berth's own gauges, counted at scrape time.
    const samples = await scrape();
    expect(one(samples, "berth_pod_sandboxes", { state: "SANDBOX_READY" }).value).to.equal(1);
    expect(
      findSeries(samples, "berth_containers", { state: "CONTAINER_RUNNING" })[0]?.value,
    ).to.equal(0);
  });

  it("a real Prometheus scrapes berthd and computes a pod's CPU rate", async function () {
    if (!existsSync(PROMETHEUS_BIN)) {
      console.log(`    skipped: ${PROMETHEUS_BIN} is not installed`);
      this.skip();
    }
    const { ctrId } = await runPodWith(env, "promburn", ["sh", "-c", "while true; do :; done"]);
    prom = await startPrometheus([`127.0.0.1:${env.berthd.metricsPort}`], 1);
    const result = await eventually(async () => {
      const r = await prom!.query(
        'rate(container_cpu_usage_seconds_total{pod="promburn",container="promburn"}[30s])',
      );
      expect(r).to.have.length(1);
      expect(Number(r[0]!.value[1])).to.be.greaterThan(0.1);
      return r;
    }, 30_000);
    expect(result[0]!.metric).to.include({
      container: "promburn",
      pod: "promburn",
      namespace: "berth-test",
      name: ctrId,
      image: env.image,
      cpu: "total",
      job: "berth",
    });
    await prom.stop();
    prom = undefined;
  });
});
