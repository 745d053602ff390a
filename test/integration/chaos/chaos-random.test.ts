// Chaos suite, random part: berthd is killed with SIGKILL after a seeded random delay inside a
// pod's whole start (RunPodSandbox, CreateContainer, StartContainer) or teardown, restarted, and
// checked as in chaos-steps. The seed is printed; BERTH_CHAOS_SEED replays a run.
import { containerConfig, podConfig, type PodEnv, startPodEnv } from "../../support/pod-env.js";
import {
  assertConsistent,
  assertNothingLeft,
  removeEverything,
  type Seen,
} from "./chaos-checks.js";
import { crashDuring, removeSeenCgroups } from "./chaos-env.js";

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("chaos: kill -9 after random delays", function () {
  this.timeout(90_000);
  let env: PodEnv;
  const seen: Seen = { pods: new Set(), containers: new Set() };
  const seed = Number(process.env["BERTH_CHAOS_SEED"] ?? Date.now() % 1_000_000);
  const random = rng(seed);
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    console.log(`      (chaos seed ${seed})`);
    env = await startPodEnv();
  });
  after(async () => {
    if (!env) return;
    await env.cleanup();
    await removeSeenCgroups(seen);
  });

  for (const round of [1, 2, 3]) {
    it(`round ${round}: a pod's start, then its teardown`, async () => {
      const start = async () => {
        const c = env.berthd.client.call;
        const pod = podConfig(env, `chaos-rand${round}`);
        const { pod_sandbox_id: podId } = await c.RunPodSandbox({ config: pod });
        const { container_id } = await c.CreateContainer({
          pod_sandbox_id: podId,
          config: containerConfig(env, "w", ["sleep", "600"]),
          sandbox_config: pod,
        });
        await c.StartContainer({ container_id });
      };
      await crashDuring(env, seen, start, Math.floor(random() * 1500));
      await assertConsistent(env);
      await crashDuring(env, seen, () => removeEverything(env), Math.floor(random() * 600));
      await assertConsistent(env);
      await removeEverything(env);
      await assertNothingLeft(env, seen);
    });
  }
});
