// Test-only pause points, named steps of a call that tests can hold:
// - BERTH_TEST_PAUSE_AT=<step>: the call that reaches <step> logs "test pause point reached"
//   and never goes on, so a test can kill -9 berthd at exactly that step;
// - BERTH_TEST_DELAY_AT=<step>:<ms>: the call waits <ms> there, then goes on, so a test can
//   race another call against that step.
// Unset (always, outside tests) they cost two env lookups.
import type { Logger } from "../log.js";

export async function testPausePoint(step: string, log: Logger): Promise<void> {
  const delay = process.env.BERTH_TEST_DELAY_AT;
  if (delay !== undefined && delay.startsWith(`${step}:`)) {
    const ms = Number(delay.slice(step.length + 1));
    log.warn({ step, ms }, "test delay point reached");
    if (Number.isFinite(ms) && ms > 0) await new Promise((r) => setTimeout(r, ms));
  }
  if (process.env.BERTH_TEST_PAUSE_AT !== step) return;
  log.warn({ step }, "test pause point reached");
  await new Promise<never>(() => undefined);
}
