// Needs root and a cgroup v1 (or hybrid) host: creates its own cgroups under
// /sys/fs/cgroup/<controller>/berth-test-<random>, runs a workload in them and reads it back.
import { expect } from "chai";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  cgroupDir,
  cgroupProcsDir,
  loadCgroupSetup,
  readCgroupStats,
  unifiedCgroupDir,
  type CgroupSetup,
  type CgroupStats,
} from "../../../src/cgroup/index.js";
import { readNetDev } from "../../../src/metrics/netdev.js";
import { readCgroupProcessCounts } from "../../../src/metrics/procfs.js";

const CONTROLLERS = ["memory", "cpu", "cpuacct", "pids", "blkio"] as const;
const MiB = 1024n * 1024n;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `read` until `done` holds or `timeoutMs` passes; returns the last value either way. */
async function waitFor<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await read();
  while (!done(v) && Date.now() < deadline) {
    await sleep(200);
    v = await read();
  }
  return v;
}

/** chai 4 cannot order bigints; this can, and says which value failed. */
function expectAtLeast(actual: bigint | undefined, min: bigint, what: string): void {
  expect(actual !== undefined && actual >= min, `${what}: ${String(actual)} ≥ ${min}`).to.equal(
    true,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills every process in the cgroup directory (all started by this test) and removes it. */
async function killAndRemove(dir: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    let procs: string;
    try {
      procs = await fs.readFile(path.join(dir, "cgroup.procs"), "utf8");
    } catch {
      return; // never created, or already gone
    }
    const pids = procs
      .split("\n")
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    if (Date.now() > deadline) throw new Error(`processes left in ${dir}: ${pids.join(" ")}`);
    await sleep(50);
  }
  await fs.rmdir(dir);
}

describe("cgroup (integration): reading a live v1 cgroup", function () {
  this.timeout(120_000);

  const name = `berth-test-${randomBytes(4).toString("hex")}`;
  const cgroupPath = `/${name}`;
  let setup: CgroupSetup;
  const created: string[] = [];
  let child: ChildProcessWithoutNullStreams | undefined;
  let tmp = "";

  before(async function () {
    if (process.getuid?.() !== 0) {
      console.log("      skipped: needs root to create cgroups");
      this.skip();
    }
    setup = await loadCgroupSetup();
    const missing = CONTROLLERS.filter((c) => setup.controllers[c] === undefined);
    if (setup.mode === "v2" || missing.length > 0) {
      console.log(
        `      skipped: needs cgroup v1 ${CONTROLLERS.join(",")} (mode ${setup.mode}, missing ${missing.join(",")})`,
      );
      this.skip();
    }
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cgroup-it-"));
    for (const c of CONTROLLERS) {
      const dir = cgroupDir(setup, c, cgroupPath) as string;
      // cpu and cpuacct may be one co-mounted directory.
      if (created.includes(dir)) continue;
      await fs.mkdir(dir);
      created.push(dir);
    }
    const unified = unifiedCgroupDir(setup, cgroupPath);
    if (unified !== undefined) {
      await fs.mkdir(unified);
      created.push(unified);
    }
  });

  after(async () => {
    if (child?.pid !== undefined && isAlive(child.pid)) child.kill("SIGKILL");
    // Everything in our cgroups is ours (the workload and its dd / head / tr children).
    for (const dir of created) await killAndRemove(dir);
    if (tmp !== "") await fs.rm(tmp, { recursive: true, force: true });
  });

  async function read(): Promise<CgroupStats> {
    const stats = await readCgroupStats(setup, cgroupPath);
    expect(stats, "reading of the live cgroup").to.not.equal(undefined);
    return stats as CgroupStats;
  }

  it("detects this host's setup from /proc/self/mountinfo", () => {
    expect(setup.controllers.memory).to.equal("/sys/fs/cgroup/memory");
    expect(setup.controllers.cpuacct).to.match(/^\/sys\/fs\/cgroup\/cpu(acct|,cpuacct)$/);
    if (setup.mode === "hybrid") expect(setup.unifiedMount).to.match(/^\/sys\/fs\/cgroup\//);
  });

  it("reads a fresh, empty cgroup: zero usage, no limits", async () => {
    const s = await read();
    expect(s.cpu?.usageNs).to.equal(0n);
    expect(s.pids).to.deep.equal({ current: 0 });
    expect(s.memory?.limit).to.equal(undefined);
    expect(s.spec?.cpuQuota).to.equal(-1);
    expect(s.spec?.cpuShares).to.equal(1024);
    expect(s.spec?.memoryLimit).to.equal(undefined);
    expect(s.io).to.be.an("array");
  });

  it("sees CPU and memory grow while a workload runs in it", async () => {
    // The workload waits on stdin until it has been moved, so all it allocates is charged here.
    child = spawn(
      "/bin/sh",
      [
        "-c",
        'read go; dd if=/dev/zero of=/dev/null bs=64k & x=$(head -c 60000000 /dev/zero | tr "\\0" a); echo ready; wait',
      ],
      { stdio: "pipe" },
    );
    const pid = child.pid as number;
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    for (const dir of created) await fs.writeFile(path.join(dir, "cgroup.procs"), `${pid}\n`);
    const before = await read();
    child.stdin.write("go\n");

    const ready = await waitFor(
      async () => out,
      (o) => o.includes("ready"),
      60_000,
    );
    expect(ready).to.include("ready");
    const s = await waitFor(read, (r) => (r.cpu?.usageNs ?? 0n) >= 500_000_000n, 30_000);

    const cpu = s.cpu!;
    expectAtLeast(cpu.usageNs - (before.cpu?.usageNs ?? 0n), 500_000_000n, "cpu usage growth");
    expect(cpu.userNs + cpu.systemNs).to.equal(cpu.usageNs);
    expect(cpu.perCpuNs?.reduce((a, b) => a + b, 0n)).to.equal(cpu.usageNs);
    expect(cpu.perCpuNs).to.have.length(os.cpus().length);

    const mem = s.memory!;
    expectAtLeast(mem.usage, 50n * MiB, "memory usage");
    expectAtLeast(mem.rss, 50n * MiB, "rss");
    expect(mem.workingSet <= mem.usage).to.equal(true);
    expect(mem.maxUsage! >= mem.usage).to.equal(true);
    expectAtLeast(mem.pgfault, 1000n, "page faults");
    expect(mem.oomKillDisable).to.equal(false);

    expect(s.pids!.current).to.be.at.least(2); // sh and dd
    if (setup.mode === "hybrid") {
      expect(s.psi?.cpu?.some.totalUs).to.be.a("bigint");
      expect(s.psi?.memory?.full?.totalUs).to.be.a("bigint");
    }

    const counts = await readCgroupProcessCounts(cgroupProcsDir(setup, cgroupPath) as string);
    expect(counts?.processes).to.be.at.least(2);
    expect(counts?.threads).to.be.at.least(2);
    expect(counts?.fds).to.be.at.least(6); // stdio of sh and of dd
  });

  it("sees limits it sets: memory, CFS quota (and throttling), pids", async () => {
    const memDir = cgroupDir(setup, "memory", cgroupPath) as string;
    const cpuDir = cgroupDir(setup, "cpu", cgroupPath) as string;
    const pidsDir = cgroupDir(setup, "pids", cgroupPath) as string;
    await fs.writeFile(path.join(memDir, "memory.limit_in_bytes"), `${512n * MiB}\n`);
    await fs.writeFile(path.join(cpuDir, "cpu.cfs_quota_us"), "20000\n");
    await fs.writeFile(path.join(pidsDir, "pids.max"), "50\n");

    // dd wants a whole CPU; a 20% quota throttles it within a few periods.
    const s = await waitFor(read, (r) => (r.cpu?.throttledPeriods ?? 0n) > 0n, 30_000);
    expect(s.memory?.limit).to.equal(512n * MiB);
    expect(s.spec).to.deep.include({ cpuQuota: 20000, cpuPeriod: 100000, memoryLimit: 512n * MiB });
    expect(s.pids?.limit).to.equal(50);
    expectAtLeast(s.cpu?.periods, 1n, "CFS periods");
    expectAtLeast(s.cpu?.throttledPeriods, 1n, "throttled periods");
    expectAtLeast(s.cpu?.throttledNs, 1n, "throttled time");
  });

  it("counts direct I/O to a device with a throttle rule", async function () {
    const st = await fs.stat(tmp);
    const major = Number((BigInt(st.dev) >> 8n) & 0xfffn);
    const minor = Number((BigInt(st.dev) & 0xffn) | ((BigInt(st.dev) >> 12n) & 0xfff00n));
    const blkioDir = cgroupDir(setup, "blkio", cgroupPath) as string;
    try {
      // Recent kernels only count throttle stats for devices with a rule; make it generous.
      await fs.writeFile(
        path.join(blkioDir, "blkio.throttle.write_bps_device"),
        `${major}:${minor} 10000000000\n`,
      );
    } catch (err: unknown) {
      console.log(
        `      skipped: cannot set a throttle rule on ${major}:${minor} (${String(err)})`,
      );
      this.skip();
    }
    const file = path.join(tmp, "io.dat");
    const dd = spawn(
      "/bin/sh",
      ["-c", `read go; exec dd if=/dev/zero of=${file} bs=1M count=8 oflag=direct`],
      {
        stdio: ["pipe", "ignore", "pipe"],
      },
    );
    let stderr = "";
    dd.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => dd.on("exit", (code) => resolve(code)));
    await fs.writeFile(path.join(blkioDir, "cgroup.procs"), `${dd.pid}\n`);
    dd.stdin.write("go\n");
    const code = await exited;
    if (code !== 0) {
      console.log(`      skipped: direct I/O not possible here: ${stderr.trim()}`);
      this.skip();
    }
    const s = await read();
    const dev = s.io?.find((d) => d.major === major && d.minor === minor);
    expect(
      dev,
      `device ${major}:${minor} in ${JSON.stringify(s.io, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`,
    ).to.not.equal(undefined);
    expectAtLeast(dev?.writeBytes, 8n * MiB, "bytes written");
    expectAtLeast(dev?.writes, 1n, "write operations");
  });

  it("reads the workload's network namespace counters", async () => {
    const ifaces = await readNetDev(child!.pid!);
    expect(ifaces?.map((i) => i.name)).to.include("lo");
    const noLo = await readNetDev(child!.pid!, { excludeLoopback: true });
    expect(noLo?.map((i) => i.name)).to.not.include("lo");
    expect(noLo).to.have.length((ifaces?.length ?? 0) - 1);
  });

  it("reads a removed cgroup as undefined", async () => {
    const gone = `/${name}-gone`;
    const dirs = ["memory", "pids"].map((c) => cgroupDir(setup, c, gone) as string);
    for (const d of dirs) await fs.mkdir(d);
    expect(await readCgroupStats(setup, gone)).to.not.equal(undefined);
    for (const d of dirs) await fs.rmdir(d);
    expect(await readCgroupStats(setup, gone)).to.equal(undefined);
  });
});
