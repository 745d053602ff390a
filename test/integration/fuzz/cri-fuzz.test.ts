// A seeded fuzz of the whole CRI against a real berthd with a ready pod and a running
// container: a few hundred requests across every RPC of both services, generated from the
// proto's descriptors or mutated from well-formed templates, with hostile strings (1 MB, NULs,
// non-ASCII, `..`), numbers at and past every bound, bad enums, wrong ids and empty messages.
// Asserts: no INTERNAL or UNKNOWN (each is listed with the request that caused it), no call
// over 5 s, berthd alive and serving at the end, nothing named from fuzz strings written
// outside berth's dirs, a bounded log, and nothing left once what it made is removed.
//
// BERTH_FUZZ_SEED replays a run (the seed is printed); BERTH_FUZZ_COUNT sets its length.
import { existsSync, promises as fs, readdirSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { removeCgroupPath } from "../../../src/cgroup/remove.js";
import {
  containerConfig,
  eventually,
  podConfig,
  type PodEnv,
  startPodEnv,
} from "../../support/pod-env.js";
import { conmonPidsUnder } from "../runtime-behaviour/behaviour-helpers.js";
import { MARK } from "./hostile-values.js";
import { knownCases } from "./known-cases.js";
import { MessageGen } from "./message-gen.js";
import { Prng } from "./prng.js";
import { sanitize } from "./sanitize.js";

const SEED = Number(process.env["BERTH_FUZZ_SEED"] ?? "20261130");
const COUNT = Number(process.env["BERTH_FUZZ_COUNT"] ?? "300");
const CALL_LIMIT_MS = 5000;
const MiB = 1024 * 1024;

interface Outcome {
  i: number;
  method: string;
  code: number;
  ms: number;
  details: string;
  request: string;
}

/** A request for a failure report: every string cut to 40 characters. */
function summary(req: unknown): string {
  return JSON.stringify(req, (_k, v: unknown) => {
    if (typeof v === "string" && v.length > 40) return `${v.slice(0, 40)}…(${v.length})`;
    if (typeof v === "object" && v !== null && (v as { type?: string }).type === "Buffer")
      return "<bytes>";
    return v;
  }).slice(0, Number(process.env["BERTH_FUZZ_REPORT_CHARS"] ?? "600"));
}

const WATCHED_DIRS = ["/", "/tmp", "/run", "/var/log"];

function cgroupHierarchies(): string[] {
  return existsSync("/sys/fs/cgroup")
    ? readdirSync("/sys/fs/cgroup").map((h) => `/sys/fs/cgroup/${h}`)
    : [];
}

function entriesWithMark(dirs: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const d of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) if (n.includes(MARK)) out.add(path.join(d, n));
  }
  return out;
}

/** Directories under `dir`, deepest first (for rmdir). */
function treeBottomUp(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...treeBottomUp(path.join(dir, e.name)));
  }
  out.push(dir);
  return out;
}

describe("CRI fuzz (seeded, every RPC, hostile fields)", function () {
  this.timeout(240_000);
  let env: PodEnv;
  let hostDir: string;
  const cgroupRoot = `/${MARK}-cg-${SEED}`;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv({ logLevel: "info" });
    hostDir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-fuzz-host-"));
  });
  after(async () => {
    try {
      await env?.cleanup();
    } finally {
      for (const h of cgroupHierarchies()) {
        for (const d of treeBottomUp(path.join(h, cgroupRoot)))
          await fs.rmdir(d).catch(() => undefined);
      }
      if (hostDir) await fs.rm(hostDir, { recursive: true, force: true });
    }
  });

  it(`answers ${COUNT} hostile requests without INTERNAL, hangs or leaks`, async () => {
    console.log(
      `      cri-fuzz: seed ${SEED} (BERTH_FUZZ_SEED=${SEED} replays it), ${COUNT} requests after the known cases`,
    );
    const c = env.berthd.client.call;
    const watched = [...WATCHED_DIRS, ...cgroupHierarchies()];
    const markedBefore = entriesWithMark(watched);

    // Fixtures: a ready pod and a running container, so some requests reach real objects.
    const podCfg = podConfig(env, `${MARK}-fixture`);
    const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: podCfg });
    const { container_id: ctrId } = await c.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(env, `${MARK}-fixture`, ["/bin/sleep", "600"]),
      sandbox_config: podCfg,
    });
    await c.StartContainer({ container_id: ctrId });
    const podsSeen = new Set<string>([podId]);
    const ids = [podId, ctrId, env.imageId];

    const rng = new Prng(SEED);
    const gen = new MessageGen(rng, () => ids);
    const methods = gen.methods();
    const rules = {
      registryHost: env.registry.host,
      fixtureImage: env.image,
      protectedIds: [podId, ctrId],
      hostDir,
      cgroupRoot,
    };
    const templates: Record<string, () => Record<string, unknown>> = {
      RunPodSandbox: () => ({
        config: {
          ...podConfig(env, `${MARK}-p${rng.int(1000)}`),
          log_directory: path.join(hostDir, "logs"),
          linux: { cgroup_parent: `${cgroupRoot}/pod${rng.int(1000)}` },
        },
      }),
      CreateContainer: () => ({
        pod_sandbox_id: podId,
        sandbox_config: podCfg,
        config: containerConfig(env, `${MARK}-c${rng.int(1000)}`, ["/bin/sleep", "600"], {
          args: ["1"],
          envs: [{ key: "A", value: Buffer.from("b") }],
          working_dir: "/tmp",
          mounts: [{ container_path: "/m", host_path: path.join(hostDir, "m") }],
          devices: [{ container_path: "/dev/fnull", host_path: "/dev/null", permissions: "rw" }],
          linux: {
            resources: {
              memory_limit_in_bytes: 32 * MiB,
              cpu_shares: 512,
              cpu_period: 100000,
              cpu_quota: 50000,
            },
          },
        }),
      }),
      UpdateContainerResources: () => ({
        container_id: ctrId,
        linux: {
          memory_limit_in_bytes: 64 * MiB,
          cpu_shares: 256,
          cpuset_cpus: "0",
          oom_score_adj: 10,
        },
      }),
      UpdatePodSandboxResources: () => ({
        pod_sandbox_id: podId,
        resources: { memory_limit_in_bytes: 128 * MiB, cpu_shares: 1024 },
      }),
      ExecSync: () => ({ container_id: ctrId, cmd: ["/bin/echo", "hello"], timeout: 2 }),
      Exec: () => ({ container_id: ctrId, cmd: ["/bin/sh"], stdin: true, stdout: true, tty: true }),
      Attach: () => ({ container_id: ctrId, stdout: true, stderr: true }),
      PortForward: () => ({ pod_sandbox_id: podId, port: [80] }),
      ContainerStatus: () => ({ container_id: ctrId, verbose: true }),
      PodSandboxStatus: () => ({ pod_sandbox_id: podId, verbose: true }),
      ReopenContainerLog: () => ({ container_id: ctrId }),
      PullImage: () => ({ image: { image: env.image } }),
      ImageStatus: () => ({ image: { image: env.image }, verbose: true }),
      ContainerStats: () => ({ container_id: ctrId }),
      PodSandboxStats: () => ({ pod_sandbox_id: podId }),
      ListContainers: () => ({
        filter: { pod_sandbox_id: podId, label_selector: { container: `${MARK}-fixture` } },
      }),
    };

    const known = knownCases({
      podId,
      ctrId,
      podConfig: podCfg as Record<string, unknown>,
      pod: () => templates["RunPodSandbox"]!()["config"] as Record<string, unknown>,
      container: () => templates["CreateContainer"]!()["config"] as Record<string, unknown>,
    });
    const templated = methods.filter((m) => templates[m.name] !== undefined);
    const logBefore = env.berthd.logs.length;
    const outcomes: Outcome[] = [];
    for (let i = 0; i < known.length + COUNT; i++) {
      let m = rng.pick(methods);
      let req: Record<string, unknown>;
      const knownCase = known[i];
      const sweep = i - known.length;
      if (knownCase) {
        m = methods.find((x) => x.name === knownCase[0])!;
        req = knownCase[1];
      } else if (sweep < methods.length) {
        // One generated request for every RPC first, so each is covered whatever the seed.
        m = methods[sweep]!;
        req = gen.message(m.request);
      } else {
        // Half the requests mutate a well-formed one, so hostile values get past the first check.
        if (rng.chance(0.5)) m = rng.pick(templated);
        const roll = rng.next();
        const template = templates[m.name];
        if (roll < 0.1) req = {};
        else if (template && roll < 0.7) req = gen.mutate(template());
        else req = gen.message(m.request);
      }
      // Sanitized on a copy: templates share the fixtures' configs.
      req = structuredClone(req);
      sanitize(m.name, req, rules);
      const isEvents = m.name === "GetContainerEvents";
      const t0 = Date.now();
      let code = status.OK;
      let details = "";
      try {
        const call = (
          c as unknown as Record<string, (r: unknown, o: { timeoutMs: number }) => Promise<unknown>>
        )[m.name]!;
        const res = await call(req, { timeoutMs: isEvents ? 300 : CALL_LIMIT_MS });
        if (m.name === "RunPodSandbox")
          podsSeen.add((res as { pod_sandbox_id: string }).pod_sandbox_id);
      } catch (err) {
        const e = err as { code?: number; details?: string; message?: string };
        code = e.code ?? status.UNKNOWN;
        details = (e.details ?? e.message ?? String(err)).slice(0, 300);
      }
      outcomes.push({
        i,
        method: m.name,
        code,
        ms: Date.now() - t0,
        details,
        request: summary(req),
      });
    }

    const dump = process.env["BERTH_FUZZ_DUMP"];
    if (dump) await fs.writeFile(dump, outcomes.map((o) => JSON.stringify(o)).join("\n") + "\n");
    const byCode = new Map<string, number>();
    for (const o of outcomes) {
      const name = status[o.code] ?? String(o.code);
      byCode.set(name, (byCode.get(name) ?? 0) + 1);
    }
    console.log(
      `      cri-fuzz: ${JSON.stringify(Object.fromEntries(byCode))}, ${new Set(outcomes.map((o) => o.method)).size} methods`,
    );

    // grpc-js refuses to encode some generated values (a word in an int64): never sent, so not
    // berth's answer.
    const unsent = (o: Outcome) => o.details.startsWith("Request message serialization failure");
    const bad = outcomes.filter(
      (o) => (o.code === status.INTERNAL || o.code === status.UNKNOWN) && !unsent(o),
    );
    const slow = outcomes.filter(
      (o) =>
        o.ms > CALL_LIMIT_MS ||
        (o.code === status.DEADLINE_EXCEEDED && o.method !== "GetContainerEvents"),
    );
    const report = (list: Outcome[]) =>
      list
        .map(
          (o) =>
            `#${o.i} ${o.method} ${status[o.code]} ${o.ms}ms: ${o.details}\n    request ${o.request}`,
        )
        .join("\n");
    expect(
      bad,
      `INTERNAL/UNKNOWN for client mistakes (seed ${SEED}):\n${report(bad)}`,
    ).to.deep.equal([]);
    expect(slow, `calls over ${CALL_LIMIT_MS} ms (seed ${SEED}):\n${report(slow)}`).to.deep.equal(
      [],
    );
    expect(new Set(outcomes.map((o) => o.method)).size, "RPCs covered").to.equal(methods.length);

    // Alive and still serving, its fixture intact.
    expect(env.berthd.running, "berthd alive").to.equal(true);
    expect((await c.Version({})).runtime_name).to.equal("berth");
    const st = await c.ContainerStatus({ container_id: ctrId });
    expect(st.status!.state).to.equal("CONTAINER_RUNNING");

    // The log grew by what a few hundred calls need, not by the megabytes they carried.
    const grown = env.berthd.logs.length - logBefore;
    console.log(`      cri-fuzz: berthd log grew by ${grown} bytes`);
    expect(grown, "berthd log growth (bytes)").to.be.below(1 * MiB);

    // Remove everything it made; then nothing may be left.
    for (const p of (await c.ListPodSandbox({})).items) podsSeen.add(p.id);
    for (const p of (await c.ListPodSandbox({})).items) {
      await c.StopPodSandbox({ pod_sandbox_id: p.id });
      await c.RemovePodSandbox({ pod_sandbox_id: p.id });
    }
    expect((await c.ListContainers({})).containers).to.deep.equal([]);
    const dir = env.berthd.dir;
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.includes(dir) || l.includes(hostDir));
    expect(mounts, "mounts left").to.deep.equal([]);
    const netnsDir = path.join(env.berthd.state, "netns");
    expect(existsSync(netnsDir) ? readdirSync(netnsDir) : [], "netns left").to.deep.equal([]);
    await eventually(async () => {
      expect(conmonPidsUnder(dir), "conmon processes").to.deep.equal([]);
    }, 5000);
    for (const h of cgroupHierarchies()) {
      for (const id of podsSeen)
        expect(existsSync(path.join(h, "berth", id)), `${h}/berth/${id}`).to.equal(false);
      // kubelet owns a pod's parent; what berth made below it (the pods' and containers') is gone.
      const below = treeBottomUp(path.join(h, cgroupRoot)).filter((d) => /\/[0-9a-f]{64}$/.test(d));
      expect(below, `container cgroups left under ${h}${cgroupRoot}`).to.deep.equal([]);
    }
    await removeCgroupPath("/berth", undefined, 1);

    // Nothing named from fuzz strings appeared outside berth's dirs and the test's own.
    const markedAfter = [...entriesWithMark(watched)].filter(
      (p) => !markedBefore.has(p) && path.basename(p) !== cgroupRoot.slice(1),
    );
    expect(markedAfter, "files made outside berth's dirs").to.deep.equal([]);
  });
});
