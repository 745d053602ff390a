// V8's optimizing compiler (TurboFan) is off while berthd starts and on once it serves.
//
// Startup runs a lot of code once (~450 modules, the CRI descriptor, the state recovery), and
// V8 optimizes the parts of it that loop. That optimized code is never run again, yet it and
// the ~3.5 MB of node's own code pages that TurboFan touched to make it stay resident: ~5 MB of
// an idle berthd's ~65 MB RSS here (issue #12). Code that gets hot later, under kubelet's
// calls and Prometheus's scrapes, is optimized as usual: only the start runs without it
// (interpreter and Sparkplug, the baseline compiler), and it takes the same ~0.5 s.
//
// bin/berthd starts node with --no-turbofan and names the flags to set once berthd is ready in
// BERTHD_V8_FLAGS_AFTER_START. V8 reads --turbofan each time it considers optimizing a function,
// so setting it later takes effect (test/unit/util/turbofan-after-start.test.ts checks that on
// this node). The variable is taken out of the environment so berthd's children do not see it.
import * as v8 from "node:v8";

export const AFTER_START_ENV = "BERTHD_V8_FLAGS_AFTER_START";

/** Flags allowed here: the deferral is for the optimizing compiler, nothing else. */
const ALLOWED = new Set(["--turbofan"]);

/**
 * Takes the after-start flags out of `env` and returns a function that sets them (once), or
 * undefined when none were given. Throws on a flag other than the allowed ones, so a typo in a
 * launcher does not silently leave the compiler off.
 */
export function takeAfterStartFlags(
  env: NodeJS.ProcessEnv,
  setFlags: (flags: string) => void = v8.setFlagsFromString,
): (() => string[]) | undefined {
  const raw = env[AFTER_START_ENV];
  delete env[AFTER_START_ENV];
  const flags = (raw ?? "").split(/\s+/).filter((f) => f !== "");
  if (flags.length === 0) return undefined;
  const bad = flags.filter((f) => !ALLOWED.has(f));
  if (bad.length > 0) {
    throw new Error(`${AFTER_START_ENV}: unsupported flag ${bad.join(" ")} (only --turbofan)`);
  }
  let done = false;
  return () => {
    if (done) return [];
    done = true;
    for (const f of flags) setFlags(f);
    return flags;
  };
}
