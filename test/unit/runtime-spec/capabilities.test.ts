import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  DEFAULT_CAPABILITIES,
  KNOWN_CAPABILITIES,
  capabilitiesFromMask,
  computeCapabilities,
} from "../../../src/runtime/spec/capabilities.js";

const FIELD = "config.linux.security_context.capabilities";

function caps(add: string[], drop: string[], ambient: string[] = [], privileged = false) {
  return computeCapabilities({
    capabilities: {
      add_capabilities: add,
      drop_capabilities: drop,
      add_ambient_capabilities: ambient,
    },
    privileged,
    defaults: DEFAULT_CAPABILITIES,
    all: KNOWN_CAPABILITIES,
    field: FIELD,
  });
}

describe("runtime/spec capabilities", () => {
  it("defaults to containerd's 14", () => {
    expect(DEFAULT_CAPABILITIES).to.have.length(14);
    const c = caps([], []);
    expect(c.bounding).to.have.members([...DEFAULT_CAPABILITIES]);
    expect(c.effective).to.deep.equal(c.bounding);
    expect(c.permitted).to.deep.equal(c.bounding);
    expect(c.inheritable).to.deep.equal([]);
    expect(c.ambient).to.deep.equal([]);
  });

  const cases: { name: string; add: string[]; drop: string[]; want: (set: string[]) => void }[] = [
    {
      name: "adds names with or without CAP_ and in any case",
      add: ["NET_ADMIN", "CAP_SYS_TIME", "sys_nice"],
      drop: [],
      want: (s) => expect(s).to.include.members(["CAP_NET_ADMIN", "CAP_SYS_TIME", "CAP_SYS_NICE"]),
    },
    {
      name: "drops named capabilities",
      add: [],
      drop: ["NET_RAW", "CAP_MKNOD"],
      want: (s) => {
        expect(s).to.have.length(12);
        expect(s).not.to.include.members(["CAP_NET_RAW"]);
        expect(s).not.to.include("CAP_MKNOD");
      },
    },
    { name: "drop ALL", add: [], drop: ["ALL"], want: (s) => expect(s).to.deep.equal([]) },
    {
      name: "drop ALL then add one",
      add: ["NET_BIND_SERVICE"],
      drop: ["ALL"],
      want: (s) => expect(s).to.deep.equal(["CAP_NET_BIND_SERVICE"]),
    },
    {
      name: "add ALL then drop one",
      add: ["ALL"],
      drop: ["CHOWN"],
      want: (s) => {
        expect(s).to.have.length(KNOWN_CAPABILITIES.length - 1);
        expect(s).not.to.include("CAP_CHOWN");
      },
    },
  ];
  for (const c of cases) it(c.name, () => c.want(caps(c.add, c.drop).bounding));

  it("privileged gets every capability given as 'all', ignoring drops", () => {
    const all = ["CAP_CHOWN", "CAP_SYS_ADMIN"];
    const c = computeCapabilities({
      capabilities: {
        add_capabilities: [],
        drop_capabilities: ["ALL"],
        add_ambient_capabilities: [],
      },
      privileged: true,
      defaults: DEFAULT_CAPABILITIES,
      all,
      field: FIELD,
    });
    expect(c.bounding).to.deep.equal(all);
    expect(c.effective).to.deep.equal(all);
  });

  it("puts ambient capabilities in ambient and inheritable", () => {
    const c = caps(["NET_ADMIN"], [], ["NET_ADMIN"]);
    expect(c.ambient).to.deep.equal(["CAP_NET_ADMIN"]);
    expect(c.inheritable).to.deep.equal(["CAP_NET_ADMIN"]);
  });

  it("rejects ambient capabilities outside the set and unknown names", () => {
    expect(() => caps([], [], ["SYS_ADMIN"]))
      .to.throw(InvalidArgumentError)
      .with.property("field", `${FIELD}.add_ambient_capabilities`);
    expect(() => caps(["NOT_A_CAP"], []))
      .to.throw(InvalidArgumentError)
      .with.property("field", `${FIELD}.add_capabilities[0]`);
    expect(() => caps([], ["BOGUS"]))
      .to.throw(InvalidArgumentError)
      .with.property("field", `${FIELD}.drop_capabilities[0]`);
  });

  it("reads /proc/<pid>/status masks", () => {
    // This host's CapBnd: everything up to CAP_CHECKPOINT_RESTORE except CAP_SYS_RESOURCE.
    const names = capabilitiesFromMask("000001fffeffffff");
    expect(names).to.have.length(40);
    expect(names).not.to.include("CAP_SYS_RESOURCE");
    expect(names).to.include("CAP_CHECKPOINT_RESTORE");
    expect(capabilitiesFromMask("0000000000000401")).to.deep.equal([
      "CAP_CHOWN",
      "CAP_NET_BIND_SERVICE",
    ]);
  });
});
