import { expect } from "chai";
import { InternalError } from "../../../src/errors.js";
import {
  CniPluginError,
  parseCniResult,
  pluginFailure,
  podIps,
} from "../../../src/network/cni-result.js";

const bridgeResult = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "berth0", mac: "aa:bb:cc:dd:ee:01" },
    { name: "veth1234", mac: "aa:bb:cc:dd:ee:02" },
    { name: "eth0", mac: "aa:bb:cc:dd:ee:03", sandbox: "/run/berth/netns/p1" },
  ],
  ips: [
    { address: "fd00::5/64", gateway: "fd00::1", interface: 2 },
    { address: "10.87.0.5/16", gateway: "10.87.0.1", interface: 2 },
  ],
  routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd00::1" }],
  dns: { nameservers: ["10.0.0.10"], search: ["svc"] },
};

describe("network/cni-result", () => {
  it("parses a bridge result and orders pod IPs v4 first", () => {
    const r = parseCniResult(bridgeResult, "bridge");
    expect(r.interfaces).to.have.length(3);
    expect(r.interfaces[2]).to.deep.equal({
      name: "eth0",
      mac: "aa:bb:cc:dd:ee:03",
      sandbox: "/run/berth/netns/p1",
    });
    expect(r.ips[1]).to.deep.equal({ address: "10.87.0.5/16", gateway: "10.87.0.1", interface: 2 });
    expect(r.routes).to.deep.equal([{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd00::1" }]);
    expect(r.dns).to.deep.equal({ nameservers: ["10.0.0.10"], search: ["svc"] });
    expect(r.raw).to.equal(bridgeResult);
    expect(podIps(r)).to.deep.equal(["10.87.0.5", "fd00::5"]);
  });

  it("leaves out addresses on host-side interfaces", () => {
    const r = parseCniResult(
      {
        cniVersion: "0.4.0",
        interfaces: [{ name: "br" }, { name: "eth0", sandbox: "/ns" }],
        ips: [
          { version: "4", address: "10.1.0.1/24", interface: 0 },
          { version: "4", address: "10.1.0.7/24", interface: 1 },
        ],
      },
      "x",
    );
    expect(podIps(r)).to.deep.equal(["10.1.0.7"]);
  });

  it("takes every address when the result marks no pod interface", () => {
    const r = parseCniResult(
      {
        cniVersion: "1.0.0",
        interfaces: [{ name: "eth0" }],
        ips: [{ address: "10.2.0.3/24", interface: 0 }, { address: "10.2.0.4/24" }],
      },
      "x",
    );
    expect(podIps(r)).to.deep.equal(["10.2.0.3", "10.2.0.4"]);
  });

  it("rejects malformed results naming the plugin", () => {
    expect(() => parseCniResult({ ips: [{ address: "nope/24" }] }, "bridge (network n)")).to.throw(
      InternalError,
      /CNI plugin bridge \(network n\) printed an invalid result: bad ip address/,
    );
    expect(() =>
      parseCniResult({ ips: [{ address: "10.0.0.1/24", interface: 3 }], interfaces: [] }, "p"),
    ).to.throw(/names interface 3/);
    expect(() => parseCniResult("text", "p")).to.throw(/not a JSON object/);
  });

  it("turns a CNI error object into an error naming the plugin", () => {
    const err = pluginFailure(
      "bridge (network n)",
      "ADD",
      JSON.stringify({
        cniVersion: "1.0.0",
        code: 7,
        msg: "invalid config",
        details: "bridge name too long",
      }),
      "",
      "exit status 1",
    );
    expect(err).to.be.instanceOf(CniPluginError);
    expect(err.code).to.equal(7);
    expect(err.msg).to.equal("invalid config");
    expect(err.details).to.equal("bridge name too long");
    expect(err.kind).to.equal("INTERNAL");
    expect(err.message).to.equal(
      "CNI plugin bridge (network n) ADD failed (code 7): invalid config; bridge name too long",
    );
  });

  it("reads an error object from stderr, and falls back to the exit status and output", () => {
    expect(
      pluginFailure("p", "DEL", "", '{"code":11,"msg":"try again"}', "exit status 1").message,
    ).to.equal("CNI plugin p DEL failed (code 11): try again");
    expect(pluginFailure("p", "ADD", "", "panic: boom\n", "exit status 2").message).to.equal(
      "CNI plugin p ADD failed: exit status 2: panic: boom",
    );
    expect(pluginFailure("p", "ADD", "", "", "killed by SIGKILL").message).to.equal(
      "CNI plugin p ADD failed: killed by SIGKILL",
    );
  });
});
