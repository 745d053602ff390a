// The pod sandbox config RunPodSandbox accepts: every field berth relies on is checked against
// this host before anything is made.
import { InvalidArgumentError } from "../../errors.js";
import type { PodSandboxConfig__Output } from "../../gen/runtime/v1/PodSandboxConfig.js";
import { type SandboxHost, validateSandboxFields } from "../../validate/sandbox-config.js";
import { validateSysctls } from "../spec/sysctls.js";
import { checkRunAsGroup } from "../spec/user.js";

export const SC_FIELD = "config.linux.security_context";

/** Checks the fields berth relies on; INVALID_ARGUMENT naming the field otherwise. */
export function validateSandboxConfig(
  config: PodSandboxConfig__Output | null,
  host: SandboxHost,
): PodSandboxConfig__Output {
  if (!config) throw new InvalidArgumentError("config", "a pod sandbox config is required");
  validateSandboxFields(config, host);
  checkRunAsGroup(config.linux?.security_context ?? null, SC_FIELD);
  // Checked here as well as by the spec builder: that runs after the netns and CNI ADD.
  validateSysctls(
    config.linux?.sysctls ?? {},
    config.linux?.security_context?.namespace_options ?? null,
  );
  return config;
}
