// Unit tests (no root) of what issue 11's "wrong state" bullets rest on: a process known by pid
// and start time, the runtime's "does not exist" told apart from other ENOENTs, partial
// resource updates merged as containerd merges them, cgroup read-back and leftover killing.
import { expect } from "chai";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { LinuxContainerResources__Output } from "../../../src/gen/runtime/v1/LinuxContainerResources.js";
import { killCgroupProcesses, readCgroupResources } from "../../../src/cgroup/container-cgroup.js";
import { emptyResources, mergeResources } from "../../../src/runtime/container/resources-merge.js";
import { OciRuntime } from "../../../src/runtime/oci/oci-runtime.js";
import { isNotExistMessage } from "../../../src/runtime/oci/runtime-state.js";
import { sandboxState } from "../../../src/runtime/records.js";
import {
  parseProcStat,
  processStartTime,
  sameProcessAlive,
  startTimeToNs,
} from "../../../src/util/proc-identity.js";
import { FakeRunner } from "../runtime-oci/fake-runner.js";

function res(over: Partial<LinuxContainerResources__Output>): LinuxContainerResources__Output {
  return { ...emptyResources(), ...over };
}

describe("state: process identity (pid + start time)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-proc-unit-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const stat = (comm: string, state: string, start: string) =>
    `77 (${comm}) ${state} 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${start} 1000 10\n`;

  it("parses field 22 even when comm holds spaces and parentheses", () => {
    expect(parseProcStat(stat("a) b (c", "S", "123456"))).to.deep.equal({
      state: "S",
      ppid: 1,
      startTime: "123456",
    });
    expect(parseProcStat("garbage")).to.equal(undefined);
  });

  it("a reused pid (another start time) or a zombie is not the recorded process", async () => {
    await mkdir(path.join(dir, "77"));
    await writeFile(path.join(dir, "77", "stat"), stat("sleep", "S", "500"));
    expect(await sameProcessAlive(77, "500", dir)).to.equal(true);
    expect(await sameProcessAlive(77, "499", dir)).to.equal(false);
    expect(await sameProcessAlive(78, "500", dir)).to.equal(false);
    await writeFile(path.join(dir, "77", "stat"), stat("sleep", "Z", "500"));
    expect(await sameProcessAlive(77, "500", dir)).to.equal(false);
    expect(await processStartTime(77, dir)).to.equal("");
  });

  it("the real /proc: this process is itself, not itself at another start time", async () => {
    const start = await processStartTime(process.pid);
    expect(start).to.match(/^\d+$/);
    expect(await sameProcessAlive(process.pid, start)).to.equal(true);
    expect(await sameProcessAlive(process.pid, String(BigInt(start) + 1n))).to.equal(false);
    expect(startTimeToNs("250", 1000n)).to.equal(1_002_500_000_000n);
  });
});

describe("state: sandbox state is the record's, not a pid's", () => {
  it("READY only while neither stopped nor the infra's exit recorded", () => {
    const base = { stoppedAt: 0n, infraExitedAt: 0n, infraPid: process.pid };
    expect(sandboxState(base)).to.equal("SANDBOX_READY");
    // The infra's pid is alive (it is this very process) but its exit was recorded.
    expect(sandboxState({ ...base, infraExitedAt: 5n })).to.equal("SANDBOX_NOTREADY");
    expect(sandboxState({ ...base, stoppedAt: 5n })).to.equal("SANDBOX_NOTREADY");
    expect(sandboxState({ ...base, infraPid: 0 })).to.equal("SANDBOX_NOTREADY");
  });
});

describe("state: the runtime's 'container does not exist'", () => {
  const where = { root: "/run/berth/crun", id: "abc" };

  it("is runc's words or an ENOENT of the container's own state dir, nothing else", () => {
    expect(isNotExistMessage('level=error msg="container does not exist"', where)).to.equal(true);
    expect(
      isNotExistMessage(
        "error opening file `/run/berth/crun/abc/status`: No such file or directory",
        where,
      ),
    ).to.equal(true);
    expect(
      isNotExistMessage(
        "cannot open directory '/run/berth/crun/abc': No such file or directory",
        where,
      ),
    ).to.equal(true);
    // Another container's state, a bundle, a cgroup: failures, not "gone".
    for (const msg of [
      "error opening file `/run/berth/crun/abcd/status`: No such file or directory",
      "open `/sys/fs/cgroup/memory/berth/x/cgroup.procs`: No such file or directory",
      'level=error msg="unlinkat /run/berth/state/abc/rootfs: no such file or directory"',
      "exec: runc: No such file or directory",
    ]) {
      expect(isNotExistMessage(msg, where), msg).to.equal(false);
    }
  });

  it("a delete that failed on some other missing file is an error, not success", async () => {
    const runner = new FakeRunner(() => ({
      code: 1,
      stderr: "error: remove `/sys/fs/cgroup/pids/berth/abc`: No such file or directory\n",
    }));
    const rt = new OciRuntime(
      { name: "crun", path: "/usr/bin/crun", root: "/run/berth/crun" },
      runner,
    );
    let caught: unknown;
    await rt.delete("abc", true).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(Error);
    const gone = new OciRuntime(
      { name: "crun", path: "/usr/bin/crun", root: "/run/berth/crun" },
      new FakeRunner(() => ({
        code: 1,
        stderr: "cannot open directory '/run/berth/crun/abc': No such file or directory\n",
      })),
    );
    await gone.delete("abc", true);
    expect(await gone.state("abc")).to.equal(undefined);
  });
});

describe("state: UpdateContainerResources merges a partial update", () => {
  it("keeps every field the update leaves at zero (crictl update --cpu-share 512 --cpuset-cpus 0)", () => {
    const current = res({
      cpu_shares: "1024",
      cpu_quota: "50000",
      cpu_period: "100000",
      memory_limit_in_bytes: "104857600",
      cpuset_mems: "0",
      unified: { "memory.high": "1" },
    });
    const merged = mergeResources(current, res({ cpu_shares: "512", cpuset_cpus: "0" }));
    expect(merged).to.deep.equal(
      res({
        cpu_shares: "512",
        cpu_quota: "50000",
        cpu_period: "100000",
        memory_limit_in_bytes: "104857600",
        cpuset_cpus: "0",
        cpuset_mems: "0",
        unified: { "memory.high": "1" },
      }),
    );
    expect(mergeResources(null, res({ cpu_quota: "-1" })).cpu_quota).to.equal("-1");
  });
});

describe("state: what the cgroup holds", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "berth-cg-unit-"));
    for (const c of ["cpu", "cpuset", "memory"]) await mkdir(path.join(dir, c));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("reads back v1 values; unlimited reads as CRI's 0", async () => {
    const w = (c: string, f: string, v: string) => writeFile(path.join(dir, c, f), v + "\n");
    await w("cpu", "cpu.shares", "512");
    await w("cpu", "cpu.cfs_quota_us", "-1");
    await w("cpu", "cpu.cfs_period_us", "100000");
    await w("cpuset", "cpuset.cpus", "0");
    await w("memory", "memory.limit_in_bytes", "9223372036854771712");
    const got = await readCgroupResources(
      { v2: false, dir: (c) => path.join(dir, c), procsDir: path.join(dir, "memory") },
      res({ cpu_shares: "2", cpu_quota: "20000", memory_limit_in_bytes: "1000", cpuset_cpus: "1" }),
    );
    expect(got).to.deep.equal(
      res({ cpu_shares: "512", cpu_quota: "0", cpu_period: "100000", cpuset_cpus: "0" }),
    );
  });

  it("kills every pid cgroup.procs lists, round after round, until none is left", async () => {
    const procs = path.join(dir, "memory", "cgroup.procs");
    await writeFile(procs, "10\n11\n");
    const killed: number[] = [];
    const left = await killCgroupProcesses(path.join(dir, "memory"), 2000, (pid) => {
      killed.push(pid);
      // pid 11 forks 12 while it dies; the next round gets it.
      void writeFile(procs, killed.includes(12) ? "" : "12\n");
    });
    expect(left).to.equal(0);
    expect(killed).to.include.members([10, 11, 12]);
    expect(await killCgroupProcesses(path.join(dir, "nope"))).to.equal(0);
  });
});
