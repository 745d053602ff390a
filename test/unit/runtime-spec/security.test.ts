import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import type { SecurityProfile__Output } from "../../../src/gen/runtime/v1/SecurityProfile.js";
import { appArmorProfile, selinuxLabels } from "../../../src/runtime/spec/security.js";

const FIELD = "config.linux.security_context";

function apparmor(
  profile: SecurityProfile__Output | null,
  legacy: string,
  opts: { host?: boolean; privileged?: boolean; def?: string } = {},
) {
  const warnings: string[] = [];
  const result = appArmorProfile({
    profile,
    legacy,
    privileged: opts.privileged ?? false,
    hostHas: { apparmor: opts.host ?? true, selinux: false },
    defaultProfile: opts.def,
    field: FIELD,
    warnings,
  });
  return { result, warnings };
}

describe("runtime/spec AppArmor and SELinux", () => {
  const local: SecurityProfile__Output = { profile_type: "Localhost", localhost_ref: "my-prof" };
  const rd: SecurityProfile__Output = { profile_type: "RuntimeDefault", localhost_ref: "" };

  it("applies Localhost and RuntimeDefault profiles where AppArmor exists", () => {
    expect(apparmor(local, "").result).to.equal("my-prof");
    expect(apparmor(null, "localhost/legacy-prof").result).to.equal("legacy-prof");
    expect(apparmor(rd, "", { def: "berth-default" }).result).to.equal("berth-default");
    expect(apparmor(null, "runtime/default", { def: "berth-default" }).result).to.equal(
      "berth-default",
    );
    expect(apparmor({ profile_type: "Unconfined", localhost_ref: "" }, "").result).to.equal(
      undefined,
    );
    expect(apparmor(null, "").result).to.equal(undefined);
  });

  it("warns and ignores profiles on hosts without AppArmor", () => {
    const { result, warnings } = apparmor(local, "", { host: false });
    expect(result).to.equal(undefined);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/AppArmor is not enabled/);
  });

  it("runs unconfined with a warning when no default profile is loaded", () => {
    const { result, warnings } = apparmor(rd, "");
    expect(result).to.equal(undefined);
    expect(warnings[0]).to.match(/no default AppArmor profile/);
  });

  it("drops RuntimeDefault for privileged but keeps Localhost", () => {
    expect(apparmor(rd, "", { privileged: true, def: "d" }).result).to.equal(undefined);
    expect(apparmor(local, "", { privileged: true }).result).to.equal("my-prof");
  });

  it("rejects unknown legacy profiles", () => {
    expect(() => apparmor(null, "weird"))
      .to.throw(InvalidArgumentError)
      .with.property("field", `${FIELD}.apparmor_profile`);
  });

  it("builds SELinux labels only where SELinux exists", () => {
    const opts = { user: "", role: "", type: "spc_t", level: "s0:c1,c2" };
    const warnings: string[] = [];
    expect(selinuxLabels(opts, { apparmor: false, selinux: true }, FIELD, warnings)).to.deep.equal({
      processLabel: "system_u:system_r:spc_t:s0:c1,c2",
      mountLabel: "system_u:object_r:container_file_t:s0:c1,c2",
    });
    expect(warnings).to.deep.equal([]);
    expect(selinuxLabels(opts, { apparmor: false, selinux: false }, FIELD, warnings)).to.deep.equal(
      {},
    );
    expect(warnings).to.have.length(1);
    expect(selinuxLabels(null, { apparmor: false, selinux: true }, FIELD, warnings)).to.deep.equal(
      {},
    );
    expect(
      selinuxLabels(
        { user: "", role: "", type: "", level: "" },
        { apparmor: false, selinux: true },
        FIELD,
        warnings,
      ),
    ).to.deep.equal({});
  });
});
