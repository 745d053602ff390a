// Probes a configured OCI runtime handler at startup.
import { errorMessage } from "../errors.js";
import type { CommandRunner } from "../util/command.js";
import type { HandlerProbe } from "./handler-registry.js";

export async function probeRuntimeHandler(
  h: { name: string; path: string; root: string },
  runner: CommandRunner,
  _stateDir: string,
): Promise<HandlerProbe> {
  const base = {
    ...h,
    version: "",
    features: { recursiveReadOnlyMounts: false, userNamespaces: false },
  };
  try {
    const res = await runner.run(h.path, ["--version"], { timeoutMs: 5000 });
    if (res.code !== 0)
      return { ...base, ok: false, reason: `--version failed: ${res.stderr.toString()}` };
    return { ...base, ok: true, reason: "", version: res.stdout.toString().split("\n")[0] ?? "" };
  } catch (err) {
    return { ...base, ok: false, reason: errorMessage(err) };
  }
}
