import { expect } from "chai";
import { renderSample } from "../../../src/metrics/container-collector.js";
import {
  escapeLabelValue,
  formatQuantity,
  renderFamilies,
} from "../../../src/metrics/exposition.js";
import { CONTAINER_FAMILIES } from "../../../src/metrics/container-families.js";
import { findSeries, parseExposition } from "../../support/prometheus.js";
import { CTR_ID, POD_ID, V1_STATS, V2_STATS, fakeSample } from "./fake-sample.js";

const env = { fsDevice: "/dev/vda", blockDevice: (ma: number, mi: number) => `/dev/b${ma}_${mi}` };
const CTR = { container: "app", pod: "web-1", namespace: "shop" };
const POD = { container: "", pod: "web-1", namespace: "shop" };

function value(text: string, name: string, labels: Record<string, string>): string {
  const found = findSeries(parseExposition(text), name, labels);
  expect(found, `${name} ${JSON.stringify(labels)}`).to.have.length(1);
  return found[0]!.raw;
}

describe("metrics: Prometheus text of a sample", () => {
  it("formats exact decimals and escapes label values", () => {
    expect(formatQuantity({ n: 12_500_000_001n, scale: 1_000_000_000n })).to.equal("12.500000001");
    expect(formatQuantity({ n: 2n, scale: 1_000_000_000n })).to.equal("0.000000002");
    expect(formatQuantity({ n: 3_000_000_000n, scale: 1_000_000_000n })).to.equal("3");
    expect(formatQuantity({ n: -1500n, scale: 1000n })).to.equal("-1.5");
    expect(formatQuantity({ n: 9_223_372_036_854_775_807n, scale: 1n })).to.equal(
      "9223372036854775807",
    );
    expect(escapeLabelValue('a"b\\c\nd')).to.equal('a\\"b\\\\c\\nd');
  });

  it('v1 shape: cAdvisor names, labels, units; pod-level series have container=""', () => {
    const text = renderSample(fakeSample(V1_STATS), env);
    const cpu = findSeries(parseExposition(text), "container_cpu_usage_seconds_total", CTR)[0]!;
    expect(cpu.labels).to.deep.equal({
      ...CTR,
      cpu: "total",
      id: `/berth/${POD_ID}/${CTR_ID}`,
      image: "registry.example/app:1",
      name: CTR_ID,
    });
    expect(cpu.raw).to.equal("12.500000001");
    const podCpu = findSeries(parseExposition(text), "container_cpu_usage_seconds_total", POD)[0]!;
    expect(podCpu.labels).to.include({ id: `/berth/${POD_ID}`, image: "", name: "" });
    expect(value(text, "container_cpu_user_seconds_total", CTR)).to.equal("10");
    expect(value(text, "container_cpu_system_seconds_total", CTR)).to.equal("2.500000001");
    expect(value(text, "container_cpu_cfs_periods_total", CTR)).to.equal("40");
    expect(value(text, "container_cpu_cfs_throttled_periods_total", CTR)).to.equal("3");
    expect(value(text, "container_cpu_cfs_throttled_seconds_total", CTR)).to.equal("1.5");
    expect(value(text, "container_spec_cpu_quota", CTR)).to.equal("50000");
    expect(value(text, "container_spec_cpu_period", CTR)).to.equal("100000");
    expect(value(text, "container_spec_cpu_shares", CTR)).to.equal("512");
    expect(value(text, "container_spec_memory_limit_bytes", CTR)).to.equal("268435456");
    expect(value(text, "container_memory_usage_bytes", CTR)).to.equal("104857600");
    expect(value(text, "container_memory_working_set_bytes", CTR)).to.equal("83886080");
    expect(value(text, "container_memory_rss", CTR)).to.equal("73400320");
    expect(value(text, "container_memory_cache", CTR)).to.equal("31457280");
    expect(value(text, "container_memory_mapped_file", CTR)).to.equal("1048576");
    expect(value(text, "container_memory_swap", CTR)).to.equal("4096");
    expect(value(text, "container_memory_max_usage_bytes", CTR)).to.equal("110000000");
    expect(value(text, "container_memory_failcnt", CTR)).to.equal("2");
    expect(value(text, "container_oom_events_total", CTR)).to.equal("1");
    const failures = { ...CTR, failure_type: "pgmajfault", scope: "container" };
    expect(value(text, "container_memory_failures_total", failures)).to.equal("7");
    expect(value(text, "container_fs_reads_bytes_total", { ...CTR, device: "/dev/b8_0" })).to.equal(
      "4096",
    );
    expect(
      value(text, "container_fs_writes_bytes_total", { ...CTR, device: "/dev/b8_0" }),
    ).to.equal("8192");
    expect(value(text, "container_fs_usage_bytes", { ...CTR, device: "/dev/vda" })).to.equal(
      "5242880",
    );
    expect(value(text, "container_processes", CTR)).to.equal("2");
    expect(value(text, "container_threads", CTR)).to.equal("4");
    expect(value(text, "container_file_descriptors", CTR)).to.equal("9");
    expect(value(text, "container_processes", POD)).to.equal("3");
    expect(value(text, "container_start_time_seconds", CTR)).to.equal("1699999995");
    expect(value(text, "container_last_seen", CTR)).to.equal("1700000000");
    // Network is a pod (network namespace) figure, never a container's.
    const rx = { ...POD, interface: "eth0" };
    expect(value(text, "container_network_receive_bytes_total", rx)).to.equal("1000");
    expect(value(text, "container_network_receive_packets_total", rx)).to.equal("10");
    expect(value(text, "container_network_receive_errors_total", rx)).to.equal("1");
    expect(value(text, "container_network_receive_packets_dropped_total", rx)).to.equal("2");
    expect(value(text, "container_network_transmit_bytes_total", rx)).to.equal("2000");
    expect(value(text, "container_network_transmit_packets_total", rx)).to.equal("20");
    expect(value(text, "container_network_transmit_errors_total", rx)).to.equal("3");
    expect(value(text, "container_network_transmit_packets_dropped_total", rx)).to.equal("4");
    expect(
      findSeries(parseExposition(text), "container_network_receive_bytes_total", CTR),
    ).to.deep.equal([]);
    // No PSI on this v1 sample: no pressure families at all.
    expect(text).to.not.include("container_pressure_");
    expect(text).to.include("# TYPE container_cpu_usage_seconds_total counter\n");
    expect(text).to.include("# TYPE container_memory_working_set_bytes gauge\n");
    expect(text).to.include(
      "# HELP container_memory_working_set_bytes Current working set in bytes.\n",
    );
  });

  it("v2 shape: PSI in seconds, no CFS series without a quota, unlimited memory as 0", () => {
    const text = renderSample(fakeSample(V2_STATS), env);
    expect(value(text, "container_pressure_cpu_waiting_seconds_total", CTR)).to.equal("1.5");
    expect(value(text, "container_pressure_cpu_stalled_seconds_total", CTR)).to.equal("0.00025");
    expect(value(text, "container_pressure_io_waiting_seconds_total", CTR)).to.equal("0.000042");
    expect(
      findSeries(parseExposition(text), "container_pressure_io_stalled_seconds_total"),
    ).to.deep.equal([]);
    for (const name of [
      "container_cpu_cfs_periods_total",
      "container_cpu_cfs_throttled_periods_total",
      "container_cpu_cfs_throttled_seconds_total",
      "container_spec_cpu_quota",
    ]) {
      expect(findSeries(parseExposition(text), name), name).to.deep.equal([]);
    }
    expect(value(text, "container_spec_memory_limit_bytes", CTR)).to.equal("0");
    expect(value(text, "container_spec_cpu_shares", CTR)).to.equal("1024");
    expect(findSeries(parseExposition(text), "container_memory_max_usage_bytes")).to.deep.equal([]);
  });

  it("stateless: a container without a reading (removed, exited) has no series at all", () => {
    const sample = fakeSample(V1_STATS);
    const pod = sample.pods[0]!;
    pod.containers = [{ target: pod.containers[0]!.target }];
    const samples = parseExposition(renderSample(sample, env));
    expect(samples.filter((s) => s.labels.name === CTR_ID)).to.deep.equal([]);
    expect(samples.filter((s) => s.labels.pod === "web-1").length).to.be.greaterThan(10);
    expect(renderSample({ atNs: 1n, pods: [] }, env)).to.equal("");
  });

  it("renders HELP and TYPE once per family, series of every owner under it", () => {
    const families = CONTAINER_FAMILIES.filter((f) => f.name === "container_memory_rss");
    const input = fakeSample(V1_STATS).pods[0]!;
    const owner = (labels: string) => ({
      labels,
      input: { level: "container" as const, stats: input.cgroup!, startNs: 0n, seenNs: 0n, ...env },
    });
    expect(renderFamilies(families, [owner('pod="a"'), owner('pod="b"')])).to.equal(
      "# HELP container_memory_rss Size of RSS in bytes.\n" +
        "# TYPE container_memory_rss gauge\n" +
        'container_memory_rss{pod="a"} 73400320\n' +
        'container_memory_rss{pod="b"} 73400320\n',
    );
  });
});
