// AppArmor and SELinux: applied only where the host has them; otherwise the request is noted in
// a warning and ignored, since kubelet sends profiles whatever the node.
import { InvalidArgumentError } from "../../errors.js";
import type { SELinuxOption__Output } from "../../gen/runtime/v1/SELinuxOption.js";
import type { SecurityProfile__Output } from "../../gen/runtime/v1/SecurityProfile.js";
import type { HostFeatures } from "./context.js";

type AppArmorChoice =
  { kind: "unconfined" } | { kind: "runtime-default" } | { kind: "localhost"; name: string };

function appArmorChoice(
  profile: SecurityProfile__Output | null,
  legacy: string,
  field: string,
): AppArmorChoice {
  if (profile !== null) {
    switch (profile.profile_type) {
      case "Unconfined":
        return { kind: "unconfined" };
      case "RuntimeDefault":
        return { kind: "runtime-default" };
      case "Localhost":
        if (profile.localhost_ref === "") {
          throw new InvalidArgumentError(`${field}.apparmor.localhost_ref`, "must be set");
        }
        return { kind: "localhost", name: profile.localhost_ref };
    }
  }
  if (legacy === "" || legacy === "unconfined") return { kind: "unconfined" };
  if (legacy === "runtime/default") return { kind: "runtime-default" };
  if (legacy.startsWith("localhost/") && legacy.length > "localhost/".length) {
    return { kind: "localhost", name: legacy.slice("localhost/".length) };
  }
  throw new InvalidArgumentError(`${field}.apparmor_profile`, `unknown profile "${legacy}"`);
}

export interface AppArmorInputs {
  profile: SecurityProfile__Output | null;
  /** The deprecated apparmor_profile string ("" for sandboxes, which lack it). */
  legacy: string;
  privileged: boolean;
  hostHas: HostFeatures;
  defaultProfile: string | undefined;
  field: string;
  warnings: string[];
}

/** process.apparmorProfile, or undefined for none. Privileged only keeps a Localhost profile. */
export function appArmorProfile(inputs: AppArmorInputs): string | undefined {
  const choice = appArmorChoice(inputs.profile, inputs.legacy, inputs.field);
  if (choice.kind === "unconfined") return undefined;
  if (inputs.privileged && choice.kind === "runtime-default") return undefined;
  if (!inputs.hostHas.apparmor) {
    inputs.warnings.push(`${inputs.field}: AppArmor is not enabled on this host; profile ignored`);
    return undefined;
  }
  if (choice.kind === "localhost") return choice.name;
  if (inputs.defaultProfile === undefined) {
    inputs.warnings.push(`${inputs.field}: no default AppArmor profile is loaded; unconfined`);
    return undefined;
  }
  return inputs.defaultProfile;
}

/**
 * process.selinuxLabel and linux.mountLabel from the request's options, the parts left empty
 * filled with the usual container type and level. No options: no labels (berth does not
 * allocate MCS categories itself).
 */
export function selinuxLabels(
  options: SELinuxOption__Output | null,
  hostHas: HostFeatures,
  field: string,
  warnings: string[],
): { processLabel?: string; mountLabel?: string } {
  if (options === null) return {};
  const { user, role, type, level } = options;
  if (user === "" && role === "" && type === "" && level === "") return {};
  if (!hostHas.selinux) {
    warnings.push(`${field}.selinux_options: SELinux is not enabled on this host; ignored`);
    return {};
  }
  const u = user || "system_u";
  const l = level || "s0";
  return {
    processLabel: `${u}:${role || "system_r"}:${type || "container_t"}:${l}`,
    mountLabel: `${u}:object_r:container_file_t:${l}`,
  };
}
