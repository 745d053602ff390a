// One node for the chaos suite, and the crash itself: berthd is killed with SIGKILL while a
// lifecycle call is inside it (at a test pause point, or after a random delay), then started
// again; the pod environment's cleanup then also removes what a crash may have left.
import { removeCgroupPath } from "../../../src/cgroup/remove.js";
import type { PodEnv } from "../../support/pod-env.js";
import { type Seen, noteIds } from "./chaos-checks.js";

/** Starts berthd again with `pauseAt` armed (or none). */
export async function relaunch(env: PodEnv, pauseAt?: string): Promise<void> {
  await env.berthd.kill9();
  env.berthd.clearLog();
  await env.berthd.launch(pauseAt !== undefined ? { BERTH_TEST_PAUSE_AT: pauseAt } : {});
}

/**
 * Runs `call` until berthd reaches its armed pause point (or, with `delayMs`, for that long),
 * notes the ids berth has made, kills berthd with SIGKILL and starts it again, disarmed.
 */
export async function crashDuring(
  env: PodEnv,
  seen: Seen,
  call: () => Promise<unknown>,
  delayMs?: number,
): Promise<void> {
  const pending = call().catch(() => undefined);
  if (delayMs === undefined) await env.berthd.waitForLog(/test pause point reached/, 30_000);
  else await new Promise((r) => setTimeout(r, delayMs));
  noteIds(env.berthd, seen);
  await env.berthd.kill9();
  await pending;
  noteIds(env.berthd, seen);
  env.berthd.clearLog();
  await env.berthd.launch();
}

/** Pod cgroups a crash may have left (berth's default parent), removed if empty. */
export async function removeSeenCgroups(seen: Seen): Promise<void> {
  for (const id of seen.pods) {
    await removeCgroupPath(`/berth/${id}/${id}`, undefined, 2).catch(() => undefined);
  }
}
