import { expect } from "chai";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { InvalidArgumentError } from "../../../src/errors.js";
import { parseConfigFile } from "../../../src/network/cni-config.js";
import {
  DEFAULT_CONFLIST_FILE,
  buildDefaultConflist,
  parseCidr,
  writeDefaultConflist,
} from "../../../src/network/default-conflist.js";

describe("network/default-conflist", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-defconf-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("builds bridge + portmap with the configured subnet", () => {
    const list = buildDefaultConflist({
      bridge: "berth0",
      subnet: "10.87.0.0/16",
      ipamDataDir: "/tmp/ipam",
    });
    expect(list).to.deep.equal({
      cniVersion: "1.0.0",
      name: "berth",
      disableCheck: false,
      plugins: [
        {
          type: "bridge",
          bridge: "berth0",
          isGateway: true,
          forceAddress: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "10.87.0.0/16" }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: "/tmp/ipam",
          },
        },
        { type: "portmap", capabilities: { portMappings: true }, snat: true },
      ],
    });
  });

  it("lets the pod CIDR replace the subnet, dual stack v4 first", () => {
    const list = buildDefaultConflist({
      bridge: "b",
      subnet: "10.87.0.0/16",
      podCidr: "fd00:1::/64, 10.244.3.0/24",
    });
    const ipam = list.plugins[0]!["ipam"];
    expect(ipam).to.deep.include({
      ranges: [[{ subnet: "10.244.3.0/24" }], [{ subnet: "fd00:1::/64" }]],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
    });
    expect(ipam).to.not.have.property("dataDir");
  });

  it("rejects bad subnets and bridge names naming the field", () => {
    expect(() => buildDefaultConflist({ bridge: "b", subnet: "10.0.0.0" })).to.throw(
      InvalidArgumentError,
      /^cni\.subnet/,
    );
    expect(() =>
      buildDefaultConflist({ bridge: "b", subnet: "10.0.0.0/8", podCidr: "10.1.0.0/33" }),
    ).to.throw(/pod_cidr/);
    expect(() => buildDefaultConflist({ bridge: "b", subnet: "10.0.0.0/8,10.1.0.0/16" })).to.throw(
      /more than one IPv4/,
    );
    expect(() =>
      buildDefaultConflist({ bridge: "a-very-long-bridge-name", subnet: "10.0.0.0/8" }),
    ).to.throw(/cni\.bridge/);
    expect(parseCidr("::1/128")).to.deep.equal({ family: 6, cidr: "::1/128" });
    expect(parseCidr("1.2.3.4/x")).to.equal(undefined);
  });

  it("writes a valid conflist once into an empty dir, rewrites it for a new pod CIDR", async () => {
    const opts = { bridge: "berth0", subnet: "10.87.0.0/16" };
    const first = await writeDefaultConflist(dir, opts);
    expect(first).to.deep.equal({ file: path.join(dir, DEFAULT_CONFLIST_FILE), written: true });
    const text = await fs.readFile(first.file, "utf8");
    const parsed = parseConfigFile(first.file, text);
    expect(parsed.ok && parsed.value.name).to.equal("berth");
    expect((await writeDefaultConflist(dir, opts)).written).to.equal(false);
    const again = await writeDefaultConflist(dir, { ...opts, podCidr: "10.244.0.0/24" });
    expect(again.written).to.equal(true);
    expect(await fs.readFile(first.file, "utf8")).to.include("10.244.0.0/24");
    expect((await fs.readdir(dir)).sort()).to.deep.equal([DEFAULT_CONFLIST_FILE]);
  });

  it("leaves a dir that already has someone else's config alone", async () => {
    await fs.writeFile(path.join(dir, "05-other.conf"), "{}");
    const r = await writeDefaultConflist(dir, { bridge: "berth0", subnet: "10.87.0.0/16" });
    expect(r.written).to.equal(false);
    expect(await fs.readdir(dir)).to.deep.equal(["05-other.conf"]);
  });

  it("creates the dir when missing", async () => {
    const sub = path.join(dir, "a", "net.d");
    expect(
      (await writeDefaultConflist(sub, { bridge: "berth0", subnet: "10.87.0.0/16" })).written,
    ).to.equal(true);
  });
});
