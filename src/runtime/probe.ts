// Probes a configured OCI runtime handler at startup by creating a real throwaway container
// (oci/runtime-handler.ts), and records what the handler can do. berthd and `berthd check` both
// use it. The probe's rootfs needs one static binary at /bin/sh (the runtime only checks it
// exists): berthd passes catatonit, which the package depends on, rather than busybox, which
// only the tests install.
import type { CommandRunner } from "../util/command.js";
import type { HandlerProbe } from "./handler-registry.js";
import { probeHandler } from "./oci/runtime-handler.js";

export async function probeRuntimeHandler(
  h: { name: string; path: string; root: string },
  runner: CommandRunner,
  tmpDir: string,
  cgroupDriver: "cgroupfs" | "systemd",
  staticBinary?: string,
): Promise<HandlerProbe> {
  const result = await probeHandler(h, runner, tmpDir, {
    cgroupDriver,
    ...(staticBinary !== undefined ? { staticBinary } : {}),
  });
  return {
    ...h,
    ok: result.ok,
    reason: result.reason,
    version: result.version,
    // runc 1.1 and crun 1.8 cannot apply `rro` mounts (runc gained it in 1.2); berth offers no
    // user namespaces yet.
    features: { recursiveReadOnlyMounts: false, userNamespaces: false },
  };
}
