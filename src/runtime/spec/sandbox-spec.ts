// The OCI runtime spec of a pod's infra container: a static init (catatonit in pause mode)
// bind-mounted read-only into a minimal rootfs berth makes, holding the pod's namespaces, its
// hostname and sysctls, in the pod's cgroup.
import type { PodSandboxConfig__Output } from "../../gen/runtime/v1/PodSandboxConfig.js";
import { ANNOTATION, CONTAINER_TYPE_SANDBOX, withCriAnnotations } from "./annotations.js";
import type { SandboxSpecContext } from "./context.js";
import type { SpecResult } from "./container-spec.js";
import { defaultDeviceRules } from "./devices.js";
import { kernelMounts } from "./mounts.js";
import { sandboxHasUts, sandboxNamespaces } from "./namespaces.js";
import { OCI_VERSION, type OciLinux, type OciProcess, type OciSpec } from "./oci-types.js";
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from "./proc-masks.js";
import { DEFAULT_PATH } from "./process-args.js";
import { clampOomScoreAdj } from "./resources.js";
import { selectSeccomp } from "./seccomp.js";
import { appArmorProfile, selinuxLabels } from "./security.js";
import { validateSysctls } from "./sysctls.js";
import { InvalidArgumentError } from "../../errors.js";

/** Where the init appears inside the sandbox rootfs. */
export const SANDBOX_INIT_DESTINATION = "/berth-init";

/** kubelet's score for the infra container: below every workload, so it is killed last. */
export const SANDBOX_OOM_SCORE_ADJ = -998;

/** Like containerd's pause container: the infra process needs almost no CPU. */
export const SANDBOX_CPU_SHARES = 2;

/** kubelet's default masks, which the sandbox gets without being asked. */
export const SANDBOX_MASKED_PATHS = DEFAULT_MASKED_PATHS;
export const SANDBOX_READONLY_PATHS = DEFAULT_READONLY_PATHS;

const SC = "config.linux.security_context";

function id(value: string, field: string): number {
  const n = Number(value);
  if (!/^\d{1,10}$/.test(value) || n > 0xfffffffe) {
    throw new InvalidArgumentError(field, `"${value}" is not a valid id`);
  }
  return n;
}

export interface SandboxSpecInput {
  config: PodSandboxConfig__Output;
  ctx: SandboxSpecContext;
}

export function buildSandboxSpec(input: SandboxSpecInput): SpecResult {
  const { config, ctx } = input;
  const warnings: string[] = [];
  const sc = config.linux?.security_context ?? null;
  const nsOptions = sc?.namespace_options ?? null;
  const privileged = sc?.privileged ?? false;

  const uid = sc?.run_as_user ? id(sc.run_as_user.value, `${SC}.run_as_user`) : 0;
  const gid = sc?.run_as_group ? id(sc.run_as_group.value, `${SC}.run_as_group`) : 0;
  const groups = (sc?.supplemental_groups ?? []).map((g, i) =>
    id(g, `${SC}.supplemental_groups[${i}]`),
  );

  // The init only waits and reaps: it needs no capabilities and may never gain any.
  const proc: OciProcess = {
    terminal: false,
    user: { uid, gid, additionalGids: [...new Set([gid, ...groups])] },
    args: [SANDBOX_INIT_DESTINATION, ...(ctx.initArgs ?? ["-P"])],
    env: [`PATH=${DEFAULT_PATH}`],
    cwd: "/",
    capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
    noNewPrivileges: true,
    oomScoreAdj: clampOomScoreAdj(
      SANDBOX_OOM_SCORE_ADJ,
      ctx.oomScoreAdjMin,
      "sandbox oom_score_adj",
      warnings,
    ),
  };
  const apparmor = appArmorProfile({
    profile: sc?.apparmor ?? null,
    legacy: "",
    privileged,
    hostHas: ctx.hostHas,
    defaultProfile: ctx.apparmorDefaultProfile,
    field: SC,
    warnings,
  });
  if (apparmor !== undefined) proc.apparmorProfile = apparmor;
  const labels = selinuxLabels(sc?.selinux_options ?? null, ctx.hostHas, SC, warnings);
  if (labels.processLabel !== undefined) proc.selinuxLabel = labels.processLabel;

  const mounts = kernelMounts({
    privileged,
    ...(ctx.shmPath !== undefined ? { shmSource: ctx.shmPath } : {}),
  });
  mounts.push({
    destination: SANDBOX_INIT_DESTINATION,
    type: "bind",
    source: ctx.initPath,
    options: ["rbind", "rprivate", "ro", "nosuid", "nodev"],
  });

  const linux: OciLinux = {
    namespaces: sandboxNamespaces(
      nsOptions,
      ctx.namespacePaths,
      ctx.privateCgroupNamespace ?? false,
      SC,
    ),
    cgroupsPath: ctx.cgroupPath,
    resources: {
      cpu: { shares: SANDBOX_CPU_SHARES },
      devices: privileged ? [{ allow: true, access: "rwm" }] : defaultDeviceRules(),
    },
  };
  const sysctls = validateSysctls(config.linux?.sysctls ?? {}, nsOptions);
  if (Object.keys(sysctls).length > 0) linux.sysctl = sysctls;
  const seccomp = selectSeccomp({
    profile: sc?.seccomp ?? null,
    legacyPath: sc?.seccomp_profile_path ?? "",
    privileged,
    capabilities: [],
    sources: ctx.seccomp,
    arch: ctx.arch ?? process.arch,
    field: SC,
  });
  if (seccomp !== undefined) linux.seccomp = seccomp;
  if (!privileged) {
    linux.maskedPaths = [...SANDBOX_MASKED_PATHS];
    linux.readonlyPaths = [...SANDBOX_READONLY_PATHS];
  }
  if (labels.mountLabel !== undefined) linux.mountLabel = labels.mountLabel;

  const meta = config.metadata;
  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: proc,
    root: { path: ctx.rootfsPath, readonly: true },
    mounts,
    annotations: withCriAnnotations(config.annotations, {
      [ANNOTATION.containerType]: CONTAINER_TYPE_SANDBOX,
      [ANNOTATION.sandboxId]: ctx.sandboxId,
      [ANNOTATION.sandboxName]: meta?.name ?? "",
      [ANNOTATION.sandboxNamespace]: meta?.namespace ?? "",
      [ANNOTATION.sandboxUid]: meta?.uid ?? "",
      [ANNOTATION.sandboxLogDirectory]: config.log_directory,
    }),
    linux,
  };
  if (sandboxHasUts(nsOptions) && ctx.hostname !== "") spec.hostname = ctx.hostname;
  return { spec, warnings };
}
