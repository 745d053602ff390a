// How berthd will mount: with its own mount(2) and umount2(2) calls (koffi), or, where koffi
// cannot load, a mount(8) or umount(8) process for each (slower, the same result).
import type { CommandRunner } from "../../util/command.js";
import { syscallMountsError } from "../../util/mount-calls.js";
import { type CheckLine, ok, warn } from "./report.js";

export function mountCallsLine(runner: CommandRunner): CheckLine {
  if (runner.mounts?.() !== undefined) {
    return ok("mount calls", "mount(2) and umount2(2) from berthd (koffi)");
  }
  const why = syscallMountsError() ?? "this runner makes none";
  return warn(
    "mount calls",
    `${why}: each mount and unmount starts mount(8) or umount(8) (3-5 ms each)`,
    "reinstall berth with its npm dependencies (koffi's prebuilt binary for this platform)",
  );
}
