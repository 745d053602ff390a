import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import { nodeAddress, parseAddress, urlHost } from "../../../src/streaming/address.js";

describe("streaming address", () => {
  it("parses host:port forms", () => {
    expect(parseAddress("127.0.0.1:10010")).to.deep.equal({ host: "127.0.0.1", port: 10010 });
    expect(parseAddress("[::1]:0")).to.deep.equal({ host: "::1", port: 0 });
    expect(parseAddress(":8080")).to.deep.equal({ host: "", port: 8080 });
    expect(parseAddress("localhost:1")).to.deep.equal({ host: "localhost", port: 1 });
    for (const bad of ["127.0.0.1", "::1:80", "host:99999", "host:x", ""]) {
      expect(() => parseAddress(bad), bad).to.throw(InvalidArgumentError);
    }
  });

  it("names the bound host in URLs, IPv6 in brackets, and a node address for wildcards", () => {
    const node = () => "10.1.2.3";
    expect(urlHost("127.0.0.1", node)).to.equal("127.0.0.1");
    expect(urlHost("::1", node)).to.equal("[::1]");
    expect(urlHost("0.0.0.0", node)).to.equal("10.1.2.3");
    expect(urlHost("::", node)).to.equal("10.1.2.3");
    expect(urlHost("", () => "fd00::5")).to.equal("[fd00::5]");
  });

  it("picks the address of the default-route interface, else loopback", () => {
    const routes =
      "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n" +
      "br0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n" +
      "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\n";
    const ifaces = {
      lo: [{ address: "127.0.0.1", family: "IPv4", internal: true }],
      br0: [{ address: "192.168.0.1", family: "IPv4", internal: false }],
      eth0: [
        { address: "fe80::1", family: "IPv6", internal: false },
        { address: "192.168.2.7", family: "IPv4", internal: false },
      ],
    } as unknown as Parameters<typeof nodeAddress>[0];
    expect(nodeAddress(ifaces, () => routes)).to.equal("192.168.2.7");
    expect(nodeAddress(ifaces, () => routes.split("\n").slice(0, 2).join("\n"))).to.equal(
      "127.0.0.1",
    );
    expect(
      nodeAddress(ifaces, () => {
        throw new Error("no /proc");
      }),
    ).to.equal("127.0.0.1");
  });
});
