import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  clampOomScoreAdj,
  containerOomScoreAdj,
  resourcesToOci,
} from "../../../src/runtime/spec/resources.js";
import { validateSysctls } from "../../../src/runtime/spec/sysctls.js";
import { namespaces, resources } from "./fixtures.js";

describe("runtime/spec resources", () => {
  it("leaves everything unset for an all-zero request", () => {
    expect(resourcesToOci(resources())).to.deep.equal({});
  });

  it("maps cpu, cpuset, memory, swap, hugepages and unified", () => {
    const r = resources({
      cpu_shares: "512",
      cpu_quota: "50000",
      cpu_period: "100000",
      cpuset_cpus: "0-1",
      cpuset_mems: "0",
      memory_limit_in_bytes: "134217728",
      memory_swap_limit_in_bytes: "268435456",
      hugepage_limits: [{ page_size: "2MB", limit: "4194304" }],
      unified: { "memory.high": "100000000" },
    });
    expect(resourcesToOci(r)).to.deep.equal({
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0-1", mems: "0" },
      memory: { limit: 134217728, swap: 268435456 },
      hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
      unified: { "memory.high": "100000000" },
    });
  });

  it("keeps quota -1 (unlimited) and swap -1", () => {
    expect(
      resourcesToOci(resources({ cpu_quota: "-1", memory_swap_limit_in_bytes: "-1" })),
    ).to.deep.equal({
      cpu: { quota: -1 },
      memory: { swap: -1 },
    });
  });

  const bad: [string, Parameters<typeof resources>[0], string][] = [
    ["negative shares", { cpu_shares: "-2" }, "config.linux.resources.cpu_shares"],
    [
      "negative memory",
      { memory_limit_in_bytes: "-5" },
      "config.linux.resources.memory_limit_in_bytes",
    ],
    [
      "memory beyond 2^53",
      { memory_limit_in_bytes: "9223372036854775807" },
      "config.linux.resources.memory_limit_in_bytes",
    ],
    [
      "page size",
      { hugepage_limits: [{ page_size: "2M", limit: "1" }] },
      "config.linux.resources.hugepage_limits[0].page_size",
    ],
  ];
  for (const [name, over, field] of bad) {
    it(`rejects ${name}`, () => {
      expect(() => resourcesToOci(resources(over)))
        .to.throw(InvalidArgumentError)
        .with.property("field", field);
    });
  }

  it("names the field under another prefix for UpdateContainerResources", () => {
    expect(() => resourcesToOci(resources({ cpu_shares: "x" }), "linux"))
      .to.throw(InvalidArgumentError)
      .with.property("field", "linux.cpu_shares");
  });

  it("clamps oom_score_adj to what berth may set, with a warning", () => {
    const warnings: string[] = [];
    expect(clampOomScoreAdj(-997, 0, "f", warnings)).to.equal(0);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/-997 raised to 0/);
    expect(clampOomScoreAdj(1000, 0, "f", warnings)).to.equal(1000);
    expect(clampOomScoreAdj(-997, -1000, "f", warnings)).to.equal(-997);
    expect(warnings).to.have.length(1);
    expect(() => clampOomScoreAdj(1001, 0, "f", warnings)).to.throw(InvalidArgumentError);
    expect(containerOomScoreAdj(null, 0, "r", warnings)).to.equal(0);
    expect(containerOomScoreAdj(resources({ oom_score_adj: "999" }), 0, "r", warnings)).to.equal(
      999,
    );
  });
});

describe("runtime/spec sysctls", () => {
  it("accepts namespaced sysctls", () => {
    const sysctls = {
      "kernel.shmmax": "1000000",
      "kernel.msgmax": "65536",
      "kernel.sem": "250 32000 100 128",
      "fs.mqueue.msg_max": "20",
      "net.ipv4.ip_unprivileged_port_start": "0",
      "net/ipv4/ping_group_range": "0 2147483647",
    };
    expect(validateSysctls(sysctls, namespaces())).to.deep.equal(sysctls);
  });

  const refused: [string, string, ReturnType<typeof namespaces>][] = [
    ["kernel.core_pattern", "|/bin/x", namespaces()],
    ["vm.swappiness", "10", namespaces()],
    ["kernel.hostname", "x", namespaces()],
    ["fs.file-max", "1", namespaces()],
    ["net.ipv4.ip_forward", "1", namespaces({ network: "NODE" })],
    ["kernel.shmmax", "1", namespaces({ ipc: "NODE" })],
    ["fs.mqueue.msg_max", "1", namespaces({ ipc: "NODE" })],
    // CVE-2022-0811: a second assignment smuggled in a value.
    ["kernel.shm_rmid_forced", "1+kernel.core_pattern=|/evil", namespaces()],
    ["net.ipv4.ip_local_port_range", "1024 65000=x", namespaces()],
    ["../kernel.shmmax", "1", namespaces()],
  ];
  for (const [name, value, ns] of refused) {
    it(`refuses ${name}=${value}`, () => {
      expect(() => validateSysctls({ [name]: value }, ns))
        .to.throw(InvalidArgumentError)
        .with.property("field", `config.linux.sysctls["${name}"]`);
    });
  }
});
