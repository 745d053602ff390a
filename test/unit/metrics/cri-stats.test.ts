import { expect } from "chai";
import {
  containerStatsMatch,
  containerStatsView,
  podSandboxStatsView,
  podStatsMatch,
} from "../../../src/cri/stats.js";
import { metricDescriptors, podSandboxMetrics } from "../../../src/metrics/cri-metrics.js";
import { AT_NS, CTR_ID, POD_ID, V1_STATS, V2_STATS, fakeSample } from "./fake-sample.js";

const V1_VIEW = { fsMountpoint: "/var/lib/berth", swapLimitIsSwapOnly: false };
const V2_VIEW = { fsMountpoint: "/var/lib/berth", swapLimitIsSwapOnly: true };
const TS = AT_NS.toString();

describe("cri: stats views of a sample", () => {
  it("v1 container: cumulative ns, nanocores, memory as kubelet reads it, writable layer", () => {
    const c = fakeSample(V1_STATS).pods[0]!.containers[0]!;
    const s = containerStatsView(c, AT_NS, V1_VIEW);
    expect(s.attributes).to.deep.equal({
      id: CTR_ID,
      metadata: { name: "app", attempt: 1 },
      labels: { tier: "web" },
      annotations: { note: "x" },
    });
    expect(s.cpu).to.deep.equal({
      timestamp: TS,
      usage_core_nano_seconds: { value: "12500000001" },
      usage_nano_cores: { value: "200000000" },
      psi: null,
    });
    expect(s.memory).to.deep.equal({
      timestamp: TS,
      working_set_bytes: { value: "83886080" },
      available_bytes: { value: String(268_435_456 - 83_886_080) },
      usage_bytes: { value: "104857600" },
      rss_bytes: { value: "73400320" },
      page_faults: { value: "1000" },
      major_page_faults: { value: "7" },
      psi: null,
    });
    // v1's swap limit is memory+swap: usage is reported, availability is not guessed.
    expect(s.swap).to.deep.equal({
      timestamp: TS,
      swap_usage_bytes: { value: "4096" },
      swap_available_bytes: null,
    });
    expect(s.io).to.equal(null);
    expect(s.writable_layer).to.deep.equal({
      timestamp: (AT_NS - 1_000_000_000n).toString(),
      fs_id: { mountpoint: "/var/lib/berth" },
      used_bytes: { value: "5242880" },
      inodes_used: { value: "12" },
    });
  });

  it("v2 container: PSI totals in ns, swap available, no nanocores on a first sample", () => {
    const c = fakeSample(V2_STATS).pods[0]!.containers[0]!;
    delete c.nanoCores;
    const s = containerStatsView(c, AT_NS, V2_VIEW);
    expect(s.cpu!.usage_nano_cores).to.equal(null);
    expect(s.cpu!.psi).to.deep.equal({
      Some: { Total: "1500000000", Avg10: 0, Avg60: 0, Avg300: 0 },
      Full: { Total: "250000", Avg10: 0, Avg60: 0, Avg300: 0 },
    });
    expect(s.memory!.available_bytes).to.equal(null); // unlimited
    expect(s.swap!.swap_available_bytes).to.deep.equal({ value: String(4_194_304 - 1_048_576) });
    expect(s.io!.psi!.Full).to.equal(null);
    expect(s.io!.psi!.Some!.Total).to.equal("42000");
  });

  it("a container without readings carries its attributes only", () => {
    const c = fakeSample(V1_STATS).pods[0]!.containers[0]!;
    const s = containerStatsView({ target: c.target }, AT_NS, V1_VIEW);
    expect(Object.keys(s)).to.deep.equal(["attributes"]);
  });

  it("pod: pod-cgroup CPU and memory, network with eth0 as default, process count", () => {
    const p = podSandboxStatsView(fakeSample(V1_STATS).pods[0]!, AT_NS, V1_VIEW);
    expect(p.attributes).to.deep.equal({
      id: POD_ID,
      metadata: { name: "web-1", uid: "uid-1", namespace: "shop", attempt: 0 },
      labels: { app: "web" },
      annotations: {},
    });
    const linux = p.linux!;
    expect(linux.cpu!.usage_nano_cores).to.deep.equal({ value: "250000000" });
    expect(linux.memory!.working_set_bytes).to.deep.equal({ value: "83886080" });
    expect(linux.network).to.deep.equal({
      timestamp: TS,
      default_interface: {
        name: "eth0",
        rx_bytes: { value: "1000" },
        rx_errors: { value: "1" },
        tx_bytes: { value: "2000" },
        tx_errors: { value: "3" },
      },
      interfaces: [linux.network!.default_interface],
    });
    expect(linux.process).to.deep.equal({ timestamp: TS, process_count: { value: "3" } });
    expect(linux.containers!.map((c) => c.attributes!.id)).to.deep.equal([CTR_ID]);
  });

  it("a host-network or stopped pod has no network and no readings", () => {
    const sample = fakeSample(V1_STATS);
    const pod = sample.pods[0]!;
    delete pod.network;
    delete pod.cgroup;
    const p = podSandboxStatsView(pod, AT_NS, V1_VIEW);
    expect(p.linux!.network).to.equal(undefined);
    expect(p.linux!.cpu).to.equal(undefined);
  });

  it("filters by id prefix, pod id and labels", () => {
    const pod = fakeSample(V1_STATS).pods[0]!;
    const c = pod.containers[0]!;
    const f = (over: object) => ({ id: "", pod_sandbox_id: "", label_selector: {}, ...over });
    expect(containerStatsMatch(c, null)).to.equal(true);
    expect(containerStatsMatch(c, f({ id: "ccc" }))).to.equal(true);
    expect(containerStatsMatch(c, f({ id: "ccd" }))).to.equal(false);
    expect(containerStatsMatch(c, f({ pod_sandbox_id: "ppp" }))).to.equal(true);
    expect(containerStatsMatch(c, f({ pod_sandbox_id: "x" }))).to.equal(false);
    expect(containerStatsMatch(c, f({ label_selector: { tier: "web" } }))).to.equal(true);
    expect(containerStatsMatch(c, f({ label_selector: { tier: "db" } }))).to.equal(false);
    expect(podStatsMatch(pod, { id: "pp", label_selector: { app: "web" } })).to.equal(true);
    expect(podStatsMatch(pod, { id: "", label_selector: { app: "db" } })).to.equal(false);
  });
});

describe("cri: metrics of KEP-2371 (ListMetricDescriptors, ListPodSandboxMetrics)", () => {
  const env = { fsDevice: "/dev/vda", blockDevice: () => "/dev/sda" };

  it("describes every family with the base label keys plus its own", () => {
    const d = metricDescriptors();
    const cpu = d.find((x) => x.name === "container_cpu_usage_seconds_total")!;
    expect(cpu.label_keys).to.deep.equal([
      "container",
      "id",
      "image",
      "name",
      "namespace",
      "pod",
      "cpu",
    ]);
    expect(cpu.help).to.equal("Cumulative cpu time consumed in seconds.");
    expect(new Set(d.map((x) => x.name)).size).to.equal(d.length);
  });

  it("gives pod and container metrics with types, ns timestamps and whole-unit values", () => {
    const [pm] = podSandboxMetrics(fakeSample(V1_STATS), env);
    expect(pm!.pod_sandbox_id).to.equal(POD_ID);
    const ctr = pm!.container_metrics![0]!;
    expect(ctr.container_id).to.equal(CTR_ID);
    const cpu = ctr.metrics!.find((m) => m.name === "container_cpu_usage_seconds_total")!;
    expect(cpu).to.deep.equal({
      name: "container_cpu_usage_seconds_total",
      timestamp: TS,
      metric_type: "COUNTER",
      label_values: [
        "app",
        `/berth/${POD_ID}/${CTR_ID}`,
        "registry.example/app:1",
        CTR_ID,
        "shop",
        "web-1",
        "total",
      ],
      value: { value: "12" }, // seconds, truncated: the proto value is an integer
    });
    const ws = ctr.metrics!.find((m) => m.name === "container_memory_working_set_bytes")!;
    expect(ws.metric_type).to.equal("GAUGE");
    expect(ws.value).to.deep.equal({ value: "83886080" });
    const net = pm!.metrics!.filter((m) => m.name === "container_network_receive_bytes_total");
    expect(net.map((m) => m.label_values)).to.deep.equal([
      ["", `/berth/${POD_ID}`, "", "", "shop", "web-1", "eth0"],
    ]);
    // Every metric's label values line up with its descriptor's keys.
    const keys = new Map(metricDescriptors().map((d) => [d.name, d.label_keys!.length]));
    for (const m of [...pm!.metrics!, ...ctr.metrics!]) {
      expect(m.label_values!.length, m.name).to.equal(keys.get(m.name));
    }
  });
});
