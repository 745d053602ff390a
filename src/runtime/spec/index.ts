// The OCI spec builders and their pre-step, for the executor.
export { buildContainerSpec, type ContainerSpecInput, type SpecResult } from "./container-spec.js";
export {
  buildSandboxSpec,
  type SandboxSpecInput,
  SANDBOX_INIT_DESTINATION,
} from "./sandbox-spec.js";
export { resourcesToOci } from "./resources.js";
export { mountDestinationsToResolve } from "./mounts.js";
export { capabilitiesFromMask, DEFAULT_CAPABILITIES } from "./capabilities.js";
export { defaultSeccompProfile } from "./seccomp-default.js";
export * from "./prepare.js";
export type * from "./context.js";
export type * from "./oci-types.js";
export type { ImageConfig } from "./image-config.js";
