// A test-only pause point: with BERTH_TEST_PAUSE_AT=<step> in berthd's environment, the call
// that reaches <step> logs "test pause point reached" and never goes on, so a test can kill -9
// berthd at exactly that step. Unset (always, outside tests) it costs one env lookup.
import type { Logger } from "../log.js";

export async function testPausePoint(step: string, log: Logger): Promise<void> {
  if (process.env.BERTH_TEST_PAUSE_AT !== step) return;
  log.warn({ step }, "test pause point reached");
  await new Promise<never>(() => undefined);
}
