// Which seccomp profile a container or sandbox gets: the SecurityProfile field, else the
// deprecated seccomp_profile_path string; Localhost profiles are parsed from file contents
// read beforehand (prepare.ts) in either the OCI or the Docker profile format.
import { FailedPreconditionError, InvalidArgumentError, errorMessage } from "../../errors.js";
import type { SecurityProfile__Output } from "../../gen/runtime/v1/SecurityProfile.js";
import type { SeccompSources } from "./context.js";
import type {
  OciSeccomp,
  OciSeccompAction,
  OciSeccompArg,
  OciSeccompOperator,
  OciSeccompSyscall,
} from "./oci-types.js";
import { defaultSeccompProfile } from "./seccomp-default.js";

const ACTIONS: readonly OciSeccompAction[] = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
];

const OPERATORS: readonly OciSeccompOperator[] = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];

/** Node's process.arch → Docker's GOARCH name and libseccomp's native architecture. */
const ARCH_NAMES: Readonly<Record<string, { go: string; scmp: string }>> = {
  x64: { go: "amd64", scmp: "SCMP_ARCH_X86_64" },
  arm64: { go: "arm64", scmp: "SCMP_ARCH_AARCH64" },
  ia32: { go: "386", scmp: "SCMP_ARCH_X86" },
  arm: { go: "arm", scmp: "SCMP_ARCH_ARM" },
  s390x: { go: "s390x", scmp: "SCMP_ARCH_S390X" },
  ppc64: { go: "ppc64le", scmp: "SCMP_ARCH_PPC64LE" },
};

export type SeccompKind =
  { kind: "unconfined" } | { kind: "runtime-default" } | { kind: "localhost"; path: string };

/** Reads the SecurityProfile field, falling back to the deprecated path string. */
export function seccompKind(
  profile: SecurityProfile__Output | null,
  legacyPath: string,
  field: string,
): SeccompKind {
  if (profile !== null) {
    switch (profile.profile_type) {
      case "Unconfined":
        return { kind: "unconfined" };
      case "RuntimeDefault":
        return { kind: "runtime-default" };
      case "Localhost":
        if (!profile.localhost_ref.startsWith("/")) {
          throw new InvalidArgumentError(
            `${field}.seccomp.localhost_ref`,
            "must be an absolute path",
          );
        }
        return { kind: "localhost", path: profile.localhost_ref };
    }
  }
  if (legacyPath === "" || legacyPath === "unconfined") return { kind: "unconfined" };
  if (legacyPath === "runtime/default" || legacyPath === "docker/default") {
    return { kind: "runtime-default" };
  }
  if (legacyPath.startsWith("localhost/")) {
    // kubelet joins "localhost/" with an absolute path: "localhost//var/lib/kubelet/seccomp/x".
    const path = legacyPath.slice("localhost/".length);
    if (!path.startsWith("/") || path === "/") {
      throw new InvalidArgumentError(`${field}.seccomp_profile_path`, "invalid localhost path");
    }
    return { kind: "localhost", path };
  }
  throw new InvalidArgumentError(
    `${field}.seccomp_profile_path`,
    `unknown seccomp profile "${legacyPath}"`,
  );
}

export interface SeccompInputs {
  profile: SecurityProfile__Output | null;
  legacyPath: string;
  privileged: boolean;
  /** The bounding set: RuntimeDefault and Docker-format profiles allow calls by capability. */
  capabilities: readonly string[];
  sources: SeccompSources;
  arch: string;
  /** CRI path of the security context, e.g. `config.linux.security_context`. */
  field: string;
}

/** The profile to put in linux.seccomp; undefined = none. Privileged containers get none. */
export function selectSeccomp(inputs: SeccompInputs): OciSeccomp | undefined {
  const choice = seccompKind(inputs.profile, inputs.legacyPath, inputs.field);
  if (inputs.privileged) return undefined;
  switch (choice.kind) {
    case "unconfined":
      return undefined;
    case "runtime-default":
      return inputs.sources.runtimeDefault !== undefined
        ? structuredClone(inputs.sources.runtimeDefault)
        : defaultSeccompProfile(inputs.capabilities, inputs.arch);
    case "localhost": {
      const content = inputs.sources.localhost[choice.path];
      if (content === undefined) {
        throw new FailedPreconditionError(`seccomp profile ${choice.path} was not loaded`);
      }
      return parseSeccompProfile(content, inputs.capabilities, inputs.arch, choice.path);
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    throw new Error("expected a list of strings");
  }
  return v;
}

function action(v: unknown, where: string): OciSeccompAction {
  if (typeof v === "string" && (ACTIONS as readonly string[]).includes(v)) {
    return v as OciSeccompAction;
  }
  throw new Error(`${where}: unknown action ${JSON.stringify(v)}`);
}

function optionalNumber(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new Error(`${where}: expected a non-negative integer`);
  }
  return v;
}

function parseArg(v: unknown, where: string): OciSeccompArg {
  if (!isRecord(v)) throw new Error(`${where}: expected an object`);
  const op = v.op;
  if (typeof op !== "string" || !(OPERATORS as readonly string[]).includes(op)) {
    throw new Error(`${where}: unknown op ${JSON.stringify(op)}`);
  }
  const arg: OciSeccompArg = {
    index: optionalNumber(v.index, where) ?? 0,
    value: optionalNumber(v.value, where) ?? 0,
    op: op as OciSeccompOperator,
  };
  const two = optionalNumber(v.valueTwo, where);
  if (two !== undefined) arg.valueTwo = two;
  return arg;
}

/** Docker-format includes/excludes: a rule applies only for given caps and arches. */
function ruleApplies(
  rule: Record<string, unknown>,
  caps: readonly string[],
  goArch: string,
): boolean {
  const inc = isRecord(rule.includes) ? rule.includes : {};
  const exc = isRecord(rule.excludes) ? rule.excludes : {};
  const incCaps = stringList(inc.caps) ?? [];
  const incArches = stringList(inc.arches) ?? [];
  if (!incCaps.every((c) => caps.includes(c))) return false;
  if (incArches.length > 0 && !incArches.includes(goArch)) return false;
  if ((stringList(exc.caps) ?? []).some((c) => caps.includes(c))) return false;
  if ((stringList(exc.arches) ?? []).includes(goArch)) return false;
  return true;
}

function parseProfileObject(doc: unknown, caps: readonly string[], arch: string): OciSeccomp {
  if (!isRecord(doc)) throw new Error("expected a JSON object");
  const names = ARCH_NAMES[arch];
  const profile: OciSeccomp = { defaultAction: action(doc.defaultAction, "defaultAction") };
  const errnoRet = optionalNumber(doc.defaultErrnoRet, "defaultErrnoRet");
  if (errnoRet !== undefined) profile.defaultErrnoRet = errnoRet;

  let arches = stringList(doc.architectures);
  if (arches === undefined && Array.isArray(doc.archMap)) {
    const entries = doc.archMap.filter(isRecord);
    const native = entries.filter((e) => names === undefined || e.architecture === names.scmp);
    arches = native.flatMap((e) => [
      ...(typeof e.architecture === "string" ? [e.architecture] : []),
      ...(stringList(e.subArchitectures) ?? []),
    ]);
  }
  if (arches !== undefined && arches.length > 0) profile.architectures = arches;
  const flags = stringList(doc.flags);
  if (flags !== undefined && flags.length > 0) profile.flags = flags;
  if (typeof doc.listenerPath === "string" && doc.listenerPath !== "") {
    profile.listenerPath = doc.listenerPath;
  }

  const rules = doc.syscalls ?? [];
  if (!Array.isArray(rules)) throw new Error("syscalls: expected a list");
  const syscalls: OciSeccompSyscall[] = [];
  rules.forEach((rule: unknown, i) => {
    const where = `syscalls[${i}]`;
    if (!isRecord(rule)) throw new Error(`${where}: expected an object`);
    if (!ruleApplies(rule, caps, names?.go ?? arch)) return;
    const list = stringList(rule.names) ?? [];
    if (typeof rule.name === "string") list.push(rule.name);
    if (list.length === 0) throw new Error(`${where}: no syscall names`);
    const out: OciSeccompSyscall = { names: list, action: action(rule.action, where) };
    const ret = optionalNumber(rule.errnoRet, where);
    if (ret !== undefined) out.errnoRet = ret;
    if (Array.isArray(rule.args) && rule.args.length > 0) {
      out.args = rule.args.map((a: unknown, j) => parseArg(a, `${where}.args[${j}]`));
    }
    syscalls.push(out);
  });
  if (syscalls.length > 0) profile.syscalls = syscalls;
  return profile;
}

/** Parses a Localhost profile; `path` names it in errors. */
export function parseSeccompProfile(
  content: string,
  capabilities: readonly string[],
  arch: string,
  path: string,
): OciSeccomp {
  try {
    return parseProfileObject(JSON.parse(content) as unknown, capabilities, arch);
  } catch (err) {
    throw new FailedPreconditionError(
      `seccomp profile ${path} is not a valid profile: ${errorMessage(err)}`,
    );
  }
}
