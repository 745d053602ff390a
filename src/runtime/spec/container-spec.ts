// The OCI runtime spec of a container, from the CRI request, the image config and the facts in
// ContainerSpecContext. Pure: all file system work happened before (prepare.ts).
import type { ContainerConfig__Output } from "../../gen/runtime/v1/ContainerConfig.js";
import type { PodSandboxConfig__Output } from "../../gen/runtime/v1/PodSandboxConfig.js";
import { ANNOTATION, CONTAINER_TYPE_CONTAINER, withCriAnnotations } from "./annotations.js";
import { DEFAULT_CAPABILITIES, KNOWN_CAPABILITIES, computeCapabilities } from "./capabilities.js";
import type { ContainerSpecContext } from "./context.js";
import { containerDevices } from "./devices.js";
import type { ImageConfig } from "./image-config.js";
import { containerMounts } from "./mounts.js";
import { containerNamespaces } from "./namespaces.js";
import { procMasks } from "./proc-masks.js";
import { OCI_VERSION, type OciLinux, type OciProcess, type OciSpec } from "./oci-types.js";
import { processArgs, processCwd, processEnv } from "./process-args.js";
import { containerOomScoreAdj, resourcesToOci } from "./resources.js";
import { selectSeccomp } from "./seccomp.js";
import { appArmorProfile, selinuxLabels } from "./security.js";
import { resolveUser } from "./user.js";

export interface ContainerSpecInput {
  config: ContainerConfig__Output;
  sandboxConfig: PodSandboxConfig__Output;
  image: ImageConfig;
  ctx: ContainerSpecContext;
}

export interface SpecResult {
  spec: OciSpec;
  /** Requests berth could not honour on this host, for the log and for events. */
  warnings: string[];
}

const SC = "config.linux.security_context";

export function buildContainerSpec(input: ContainerSpecInput): SpecResult {
  const { config, sandboxConfig, image, ctx } = input;
  const warnings: string[] = [];
  const sc = config.linux?.security_context ?? null;
  const resources = config.linux?.resources ?? null;
  const privileged = sc?.privileged ?? false;
  const readonlyRootfs = sc?.readonly_rootfs ?? false;
  if (privileged && !(sandboxConfig.linux?.security_context?.privileged ?? false)) {
    warnings.push(`${SC}.privileged: the pod sandbox is not privileged`);
  }

  const capabilities = computeCapabilities({
    capabilities: sc?.capabilities ?? null,
    privileged,
    defaults: ctx.defaultCapabilities ?? DEFAULT_CAPABILITIES,
    all: ctx.allCapabilities ?? KNOWN_CAPABILITIES,
    field: `${SC}.capabilities`,
  });

  const proc: OciProcess = {
    terminal: config.tty,
    user: resolveUser({
      securityContext: sc,
      imageUser: image.User ?? "",
      ...(ctx.passwd !== undefined ? { passwd: ctx.passwd } : {}),
      ...(ctx.group !== undefined ? { group: ctx.group } : {}),
    }),
    args: processArgs(config, image),
    env: processEnv(config, image, ctx.sandbox.hostname),
    cwd: processCwd(config, image),
    capabilities,
    noNewPrivileges: sc?.no_new_privs ?? false,
    oomScoreAdj: containerOomScoreAdj(
      resources,
      ctx.oomScoreAdjMin,
      "config.linux.resources",
      warnings,
    ),
  };
  const apparmor = appArmorProfile({
    profile: sc?.apparmor ?? null,
    legacy: sc?.apparmor_profile ?? "",
    privileged,
    hostHas: ctx.hostHas,
    defaultProfile: ctx.apparmorDefaultProfile,
    field: SC,
    warnings,
  });
  if (apparmor !== undefined) proc.apparmorProfile = apparmor;
  const labels = selinuxLabels(sc?.selinux_options ?? null, ctx.hostHas, SC, warnings);
  if (labels.processLabel !== undefined) proc.selinuxLabel = labels.processLabel;

  const { mounts, rootfsPropagation } = containerMounts({
    config,
    sandbox: ctx.sandbox,
    destinations: ctx.mountDestinations,
    privileged,
    readonlyRootfs,
    hostHas: ctx.hostHas,
    warnings,
  });
  const { devices, rules } = containerDevices(ctx.devices, privileged, ctx.hostDevices ?? []);

  const linux: OciLinux = {
    namespaces: containerNamespaces(
      sc?.namespace_options ?? null,
      ctx.sandbox,
      ctx.targetPid,
      ctx.privateCgroupNamespace ?? false,
      SC,
    ),
    devices,
    cgroupsPath: ctx.cgroupPath,
    resources: {
      ...(resources !== null ? resourcesToOci(resources) : {}),
      devices: rules,
    },
  };
  const seccomp = selectSeccomp({
    profile: sc?.seccomp ?? null,
    legacyPath: sc?.seccomp_profile_path ?? "",
    privileged,
    capabilities: capabilities.bounding,
    sources: ctx.seccomp,
    arch: ctx.arch ?? process.arch,
    field: SC,
  });
  if (seccomp !== undefined) linux.seccomp = seccomp;
  const masks = procMasks(sc, privileged);
  if (masks.maskedPaths.length > 0) linux.maskedPaths = masks.maskedPaths;
  if (masks.readonlyPaths.length > 0) linux.readonlyPaths = masks.readonlyPaths;
  if (labels.mountLabel !== undefined) linux.mountLabel = labels.mountLabel;
  if (rootfsPropagation !== undefined) linux.rootfsPropagation = rootfsPropagation;

  const meta = sandboxConfig.metadata;
  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: proc,
    root: { path: ctx.rootfsPath, readonly: readonlyRootfs },
    mounts,
    annotations: withCriAnnotations(config.annotations, {
      [ANNOTATION.containerType]: CONTAINER_TYPE_CONTAINER,
      [ANNOTATION.sandboxId]: ctx.sandbox.id,
      [ANNOTATION.containerName]: config.metadata?.name ?? "",
      [ANNOTATION.sandboxName]: meta?.name ?? "",
      [ANNOTATION.sandboxNamespace]: meta?.namespace ?? "",
      [ANNOTATION.sandboxUid]: meta?.uid ?? "",
      [ANNOTATION.imageName]: ctx.imageName,
    }),
    linux,
  };
  return { spec, warnings };
}
