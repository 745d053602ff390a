import { expect } from "chai";
import { FailedPreconditionError, InvalidArgumentError } from "../../../src/errors.js";
import type { SecurityProfile__Output } from "../../../src/gen/runtime/v1/SecurityProfile.js";
import { DEFAULT_CAPABILITIES } from "../../../src/runtime/spec/capabilities.js";
import type { OciSeccomp } from "../../../src/runtime/spec/oci-types.js";
import { defaultSeccompProfile } from "../../../src/runtime/spec/seccomp-default.js";
import {
  parseSeccompProfile,
  seccompKind,
  selectSeccomp,
} from "../../../src/runtime/spec/seccomp.js";

const FIELD = "config.linux.security_context";

/** What the profile does to a call made with no interesting arguments. */
function verdict(p: OciSeccomp, name: string): string {
  const rules = (p.syscalls ?? []).filter((s) => s.names.includes(name));
  const plain = rules.find((r) => r.args === undefined);
  if (plain !== undefined) return plain.action;
  if (rules.length > 0) return "conditional";
  return p.defaultAction;
}

describe("runtime/spec default seccomp profile", () => {
  const profile = defaultSeccompProfile(DEFAULT_CAPABILITIES, "x64");

  it("denies by default with EPERM, for the host's architectures", () => {
    expect(profile.defaultAction).to.equal("SCMP_ACT_ERRNO");
    expect(profile.defaultErrnoRet).to.equal(1);
    expect(profile.architectures).to.deep.equal([
      "SCMP_ARCH_X86_64",
      "SCMP_ARCH_X86",
      "SCMP_ARCH_X32",
    ]);
  });

  it("blocks escapes for an unprivileged default container", () => {
    for (const name of [
      "unshare",
      "mount",
      "umount2",
      "setns",
      "keyctl",
      "add_key",
      "request_key",
    ]) {
      expect(verdict(profile, name), name).to.equal("SCMP_ACT_ERRNO");
    }
    for (const name of ["ptrace", "bpf", "init_module", "reboot", "pivot_root", "kexec_load"]) {
      expect(verdict(profile, name), name).to.equal("SCMP_ACT_ERRNO");
    }
  });

  it("allows what a shell and busybox need", () => {
    for (const name of [
      "execve",
      "read",
      "write",
      "openat",
      "close",
      "mmap",
      "brk",
      "fork",
      "vfork",
      "wait4",
      "rt_sigaction",
      "getdents64",
      "newfstatat",
      "statx",
      "socket",
      "connect",
      "arch_prctl",
      "set_tid_address",
      "exit_group",
      "getpid",
      "uname",
      "ioctl",
      "chroot",
    ]) {
      expect(verdict(profile, name), name).to.equal("SCMP_ACT_ALLOW");
    }
  });

  it("allows clone only without namespace flags and turns clone3 into ENOSYS", () => {
    const clone = profile.syscalls?.find((s) => s.names.includes("clone"));
    expect(clone?.args?.[0]).to.deep.include({ index: 0, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" });
    expect(clone?.args?.[0]?.value).to.equal(0x7e020000);
    const clone3 = profile.syscalls?.find((s) => s.names.includes("clone3"));
    expect(clone3).to.deep.equal({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 });
  });

  it("allows capability-gated calls when the capability is held", () => {
    const admin = defaultSeccompProfile(
      [...DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"],
      "x64",
    );
    for (const name of ["mount", "unshare", "setns", "clone", "clone3", "ptrace"]) {
      expect(verdict(admin, name), name).to.equal("SCMP_ACT_ALLOW");
    }
    expect(verdict(defaultSeccompProfile([], "x64"), "chroot")).to.equal("SCMP_ACT_ERRNO");
  });

  it("uses the arm64 architectures on arm64 and only the native one elsewhere", () => {
    expect(defaultSeccompProfile([], "arm64").architectures).to.deep.equal([
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
    ]);
    expect(defaultSeccompProfile([], "riscv64").architectures).to.equal(undefined);
  });
});

describe("runtime/spec seccomp selection", () => {
  const rd: SecurityProfile__Output = { profile_type: "RuntimeDefault", localhost_ref: "" };
  const unconfined: SecurityProfile__Output = { profile_type: "Unconfined", localhost_ref: "" };
  const local: SecurityProfile__Output = { profile_type: "Localhost", localhost_ref: "/p/a.json" };

  const kinds: { profile: SecurityProfile__Output | null; legacy: string; want: unknown }[] = [
    { profile: rd, legacy: "unconfined", want: { kind: "runtime-default" } },
    { profile: unconfined, legacy: "", want: { kind: "unconfined" } },
    { profile: local, legacy: "", want: { kind: "localhost", path: "/p/a.json" } },
    { profile: null, legacy: "", want: { kind: "unconfined" } },
    { profile: null, legacy: "unconfined", want: { kind: "unconfined" } },
    { profile: null, legacy: "runtime/default", want: { kind: "runtime-default" } },
    { profile: null, legacy: "docker/default", want: { kind: "runtime-default" } },
    {
      profile: null,
      legacy: "localhost//p/b.json",
      want: { kind: "localhost", path: "/p/b.json" },
    },
  ];
  for (const k of kinds) {
    it(`reads ${k.profile?.profile_type ?? "no profile"} / "${k.legacy}"`, () => {
      expect(seccompKind(k.profile, k.legacy, FIELD)).to.deep.equal(k.want);
    });
  }

  it("rejects unknown legacy paths and relative Localhost refs", () => {
    expect(() => seccompKind(null, "bogus", FIELD))
      .to.throw(InvalidArgumentError)
      .with.property("field", `${FIELD}.seccomp_profile_path`);
    expect(() => seccompKind({ profile_type: "Localhost", localhost_ref: "rel.json" }, "", FIELD))
      .to.throw(InvalidArgumentError)
      .with.property("field", `${FIELD}.seccomp.localhost_ref`);
  });

  const base = {
    legacyPath: "",
    privileged: false,
    capabilities: [...DEFAULT_CAPABILITIES],
    arch: "x64",
    field: FIELD,
  };

  it("gives RuntimeDefault berth's profile, or the configured one", () => {
    const own = selectSeccomp({ ...base, profile: rd, sources: { localhost: {} } });
    expect(own).to.deep.equal(defaultSeccompProfile(DEFAULT_CAPABILITIES, "x64"));
    const custom: OciSeccomp = { defaultAction: "SCMP_ACT_LOG" };
    const configured = selectSeccomp({
      ...base,
      profile: rd,
      sources: { runtimeDefault: custom, localhost: {} },
    });
    expect(configured).to.deep.equal(custom);
    expect(configured).not.to.equal(custom);
  });

  it("gives privileged and Unconfined no profile", () => {
    expect(selectSeccomp({ ...base, profile: unconfined, sources: { localhost: {} } })).to.equal(
      undefined,
    );
    expect(
      selectSeccomp({ ...base, privileged: true, profile: rd, sources: { localhost: {} } }),
    ).to.equal(undefined);
  });

  it("parses a Localhost profile from the loaded contents", () => {
    const content = JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
    });
    const p = selectSeccomp({
      ...base,
      profile: local,
      sources: { localhost: { "/p/a.json": content } },
    });
    expect(p).to.deep.equal({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
    });
    expect(() => selectSeccomp({ ...base, profile: local, sources: { localhost: {} } })).to.throw(
      FailedPreconditionError,
      /not loaded/,
    );
  });

  it("understands Docker-format profiles (archMap, name, includes/excludes)", () => {
    const docker = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 1,
      archMap: [
        { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
        { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
      ],
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        {
          name: "personality",
          action: "SCMP_ACT_ALLOW",
          args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }],
        },
        { names: ["ptrace"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_PTRACE"] } },
        { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64"] } },
        { names: ["sync_file_range2"], action: "SCMP_ACT_ALLOW", includes: { arches: ["arm64"] } },
        { names: ["clone"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_SYS_ADMIN"] } },
      ],
    };
    const p = parseSeccompProfile(JSON.stringify(docker), ["CAP_CHOWN"], "x64", "/p/d.json");
    expect(p.architectures).to.deep.equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(p.defaultErrnoRet).to.equal(1);
    expect(p.syscalls?.map((s) => s.names[0])).to.deep.equal([
      "read",
      "personality",
      "arch_prctl",
      "clone",
    ]);
    expect(p.syscalls?.[1]?.args).to.deep.equal([{ index: 0, value: 8, op: "SCMP_CMP_EQ" }]);
  });

  it("rejects broken Localhost profiles naming the file", () => {
    for (const bad of [
      "{",
      "[]",
      '{"defaultAction":"NOPE"}',
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}',
    ]) {
      expect(() => parseSeccompProfile(bad, [], "x64", "/p/bad.json"), bad).to.throw(
        FailedPreconditionError,
        /\/p\/bad\.json/,
      );
    }
  });
});
