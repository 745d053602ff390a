// Test-only pause points for the chaos suite (test/integration/chaos). When berthd starts with
// BERTH_TEST_PAUSE_AT=<step> in its environment (read once, at startup), every call that
// reaches that step logs "test pause point reached" with the step and then waits forever, so a
// test can `kill -9` berthd at exactly that point of a lifecycle call. Without the variable
// (always, outside tests) every pause point is a no-op resolved at once.
import type { Logger } from "../log.js";

export const TEST_PAUSE_STEPS = [
  "run-pod-sandbox", // infra started, sandbox record not yet written
  "create-container", // conmon has created the container, record not yet written
  "start-container", // runtime start returned, start time not yet recorded
  "stop-container", // stop signal sent, exit not yet recorded
  "remove-container", // runtime record deleted, mounts and record not yet removed
  "stop-pod-sandbox", // containers and infra stopped, network not yet released
  "remove-pod-sandbox", // infra deleted in the runtime, cgroups, dirs and record not yet
] as const;

export type TestPauseStep = (typeof TEST_PAUSE_STEPS)[number];

export type TestPause = (step: TestPauseStep) => Promise<void>;

export const NO_TEST_PAUSE: TestPause = () => Promise.resolve();

export const TEST_PAUSE_ENV = "BERTH_TEST_PAUSE_AT";

/** The pause function for this process, from the environment as it is at startup. */
export function testPauseFromEnv(env: NodeJS.ProcessEnv, log: Logger): TestPause {
  const want = env[TEST_PAUSE_ENV];
  if (want === undefined || want === "") return NO_TEST_PAUSE;
  if (!(TEST_PAUSE_STEPS as readonly string[]).includes(want)) {
    log.warn({ step: want }, `unknown ${TEST_PAUSE_ENV} step; no pause point is active`);
    return NO_TEST_PAUSE;
  }
  log.warn({ step: want }, "test pause point armed");
  return async (step) => {
    if (step !== want) return;
    log.warn({ step }, "test pause point reached");
    await new Promise<never>(() => undefined);
  };
}
