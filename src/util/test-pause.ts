// Test-only pause points for the chaos and leak suites. When berthd starts with one of these in
// its environment (read once, at startup):
// - BERTH_TEST_PAUSE_AT=<step>: the first call that reaches <step> logs "test pause point
//   reached" and then waits forever, so a test can `kill -9` berthd at exactly that point;
// - BERTH_TEST_DELAY_AT=<step>:<ms>: every call that reaches <step> waits <ms> there and goes on,
//   so a test can race another call against that step.
// Without them (always, outside tests) every pause point is a no-op resolved at once.
import type { Logger } from "../log.js";

export const TEST_PAUSE_STEPS = [
  "sandbox-namespaces", // an infra-less pod's namespaces are pinned, its network not yet set up
  "sandbox-network", // the pod's network is set up, its infra not yet made
  "sandbox-spec", // the infra's bundle is written, conmon not yet started
  "sandbox-created", // the infra exists in the runtime, not yet started
  "run-pod-sandbox", // infra started (or, infra-less, sysctls and cgroup made), record not written
  "create-container", // conmon has created the container, record not yet written
  "start-container", // runtime start returned, start time not yet recorded
  "stop-container", // stop signal sent, exit not yet recorded
  "remove-container", // runtime record deleted, mounts and record not yet removed
  "stop-pod-sandbox", // containers and infra stopped, network not yet released
  "stop-pod-network", // infra-less, netns first: the namespaces released, CNI DEL not yet run
  "remove-pod-sandbox", // infra deleted in the runtime, cgroups, dirs and record not yet
] as const;

export type TestPauseStep = (typeof TEST_PAUSE_STEPS)[number];

/** `ids` (e.g. `{ pod_sandbox_id }`) go on the log line, so a test can tell whose call it is. */
export type TestPause = (step: TestPauseStep, ids?: Record<string, string>) => Promise<void>;

export const NO_TEST_PAUSE: TestPause = () => Promise.resolve();

export const TEST_PAUSE_ENV = "BERTH_TEST_PAUSE_AT";
export const TEST_DELAY_ENV = "BERTH_TEST_DELAY_AT";

function knownStep(step: string, log: Logger, env: string): step is TestPauseStep {
  if ((TEST_PAUSE_STEPS as readonly string[]).includes(step)) return true;
  log.warn({ step }, `unknown ${env} step; it is ignored`);
  return false;
}

/** The pause function for this process, from the environment as it is at startup. */
export function testPauseFromEnv(env: NodeJS.ProcessEnv, log: Logger): TestPause {
  const pauseAt = env[TEST_PAUSE_ENV] ?? "";
  const delaySpec = env[TEST_DELAY_ENV] ?? "";
  const colon = delaySpec.lastIndexOf(":");
  const delayAt = colon > 0 ? delaySpec.slice(0, colon) : "";
  const delayMs = colon > 0 ? Number(delaySpec.slice(colon + 1)) : 0;
  const pause = pauseAt !== "" && knownStep(pauseAt, log, TEST_PAUSE_ENV) ? pauseAt : undefined;
  const delay =
    delayAt !== "" &&
    Number.isFinite(delayMs) &&
    delayMs > 0 &&
    knownStep(delayAt, log, TEST_DELAY_ENV)
      ? delayAt
      : undefined;
  if (pause === undefined && delay === undefined) return NO_TEST_PAUSE;
  log.warn({ pause, delay, delayMs }, "test pause points armed");
  return async (step, ids = {}) => {
    if (step === delay) {
      log.warn({ ...ids, step, ms: delayMs }, "test delay point reached");
      await new Promise((r) => setTimeout(r, delayMs));
    }
    if (step !== pause) return;
    log.warn({ ...ids, step }, "test pause point reached");
    await new Promise<never>(() => undefined);
  };
}
