import { expect } from "chai";
import { FailedPreconditionError, InvalidArgumentError } from "../../../src/errors.js";
import type { LinuxContainerSecurityContext__Output } from "../../../src/gen/runtime/v1/LinuxContainerSecurityContext.js";
import { parseGroup, parsePasswd, resolveUser } from "../../../src/runtime/spec/user.js";
import { GROUP, PASSWD, securityContext } from "./fixtures.js";

describe("runtime/spec user", () => {
  it("parses passwd and group files, skipping malformed lines", () => {
    const users = parsePasswd(`${PASSWD}# comment\nbroken\nbad:x:notanumber:1::/:/bin/sh\n`);
    expect(users.map((u) => u.name)).to.deep.equal(["root", "daemon", "www", "alice"]);
    expect(users[3]).to.deep.equal({ name: "alice", uid: 1000, gid: 1000 });
    const groups = parseGroup(GROUP);
    expect(groups.find((g) => g.name === "wheel")).to.deep.equal({
      name: "wheel",
      gid: 10,
      members: ["root", "alice"],
    });
  });

  const int64 = (v: string) => ({ value: v });
  const cases: {
    name: string;
    sc?: Partial<LinuxContainerSecurityContext__Output>;
    imageUser?: string;
    want: { uid: number; gid: number; additionalGids: number[] };
  }[] = [
    { name: "no user anywhere = root", want: { uid: 0, gid: 0, additionalGids: [0, 10] } },
    {
      name: "image uid",
      imageUser: "1000",
      want: { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] },
    },
    {
      name: "image uid unknown to passwd",
      imageUser: "4321",
      want: { uid: 4321, gid: 0, additionalGids: [0] },
    },
    {
      name: "image uid:gid",
      imageUser: "1000:33",
      want: { uid: 1000, gid: 33, additionalGids: [33, 10, 29] },
    },
    { name: "image name", imageUser: "www", want: { uid: 33, gid: 33, additionalGids: [33] } },
    {
      name: "image name:group",
      imageUser: "alice:www",
      want: { uid: 1000, gid: 33, additionalGids: [33, 10, 29] },
    },
    {
      name: "image :group",
      imageUser: ":audio",
      want: { uid: 0, gid: 29, additionalGids: [29, 10] },
    },
    {
      name: "run_as_user overrides image user",
      imageUser: "www",
      sc: { run_as_user: int64("1000") },
      want: { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] },
    },
    {
      name: "run_as_user + run_as_group",
      sc: { run_as_user: int64("1000"), run_as_group: int64("5000") },
      want: { uid: 1000, gid: 5000, additionalGids: [5000, 10, 29] },
    },
    {
      name: "run_as_username",
      sc: { run_as_username: "www" },
      want: { uid: 33, gid: 33, additionalGids: [33] },
    },
    {
      name: "run_as_group with run_as_username",
      sc: { run_as_username: "www", run_as_group: int64("7") },
      want: { uid: 33, gid: 7, additionalGids: [7] },
    },
    {
      name: "supplemental groups are merged by default",
      sc: { run_as_user: int64("1000"), supplemental_groups: ["2000", "10"] },
      want: { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29, 2000] },
    },
    {
      name: "Strict keeps only the primary and given groups",
      sc: {
        run_as_user: int64("1000"),
        supplemental_groups: ["2000"],
        supplemental_groups_policy: "Strict",
      },
      want: { uid: 1000, gid: 1000, additionalGids: [1000, 2000] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const user = resolveUser({
        securityContext: securityContext(c.sc ?? {}),
        imageUser: c.imageUser ?? "",
        passwd: PASSWD,
        group: GROUP,
      });
      expect(user).to.deep.equal(c.want);
    });
  }

  it("works without passwd/group files for numeric users", () => {
    expect(resolveUser({ securityContext: null, imageUser: "5:6" })).to.deep.equal({
      uid: 5,
      gid: 6,
      additionalGids: [6],
    });
  });

  it("rejects an unknown run_as_username with the field path", () => {
    expect(() =>
      resolveUser({
        securityContext: securityContext({ run_as_username: "mallory" }),
        imageUser: "",
        passwd: PASSWD,
        group: GROUP,
      }),
    )
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.linux.security_context.run_as_username");
  });

  it("rejects run_as_group without run_as_user or run_as_username, naming the field", () => {
    expect(() =>
      resolveUser({
        securityContext: securityContext({ run_as_group: int64("7") }),
        imageUser: "www",
        passwd: PASSWD,
        group: GROUP,
      }),
    )
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.linux.security_context.run_as_group");
  });

  it("fails an image whose User names an unknown user or group", () => {
    for (const imageUser of ["nobody", "alice:nogroup"]) {
      expect(() =>
        resolveUser({ securityContext: null, imageUser, passwd: PASSWD, group: GROUP }),
      ).to.throw(FailedPreconditionError, imageUser.includes(":") ? /nogroup/ : /nobody/);
    }
  });

  it("rejects out-of-range ids", () => {
    expect(() =>
      resolveUser({
        securityContext: securityContext({ run_as_user: int64("-1") }),
        imageUser: "",
      }),
    )
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.linux.security_context.run_as_user");
    expect(() =>
      resolveUser({
        securityContext: securityContext({ supplemental_groups: ["4294967295"] }),
        imageUser: "",
      }),
    )
      .to.throw(InvalidArgumentError)
      .with.property("field", "config.linux.security_context.supplemental_groups[0]");
  });
});
