import { expect } from "chai";
import type { NetworkConfigList, PluginConfig } from "../../../src/network/cni-types.js";
import { delNeedsNoNetns } from "../../../src/network/del-without-netns.js";

const list = (...plugins: PluginConfig[]): NetworkConfigList => ({
  cniVersion: "1.0.0",
  name: "n",
  disableCheck: false,
  plugins,
});
const bridge = (ipam?: unknown): PluginConfig => ({
  type: "bridge",
  bridge: "br0",
  ...(ipam === undefined ? {} : { ipam }),
});

describe("network/del-without-netns", () => {
  it("lets bridge (host-local or static IPAM), portmap, bandwidth and loopback go after the netns", () => {
    expect(delNeedsNoNetns(list(bridge({ type: "host-local" }), { type: "portmap" }))).to.equal(
      true,
    );
    expect(delNeedsNoNetns(list(bridge({ type: "static" }), { type: "bandwidth" }))).to.equal(true);
    expect(delNeedsNoNetns(list({ type: "loopback" }))).to.equal(true);
  });

  it("keeps DEL first for any other plugin or IPAM, and for an odd ipam", () => {
    // dhcp's release is sent from inside the netns; tuning restores settings there.
    expect(delNeedsNoNetns(list(bridge({ type: "dhcp" })))).to.equal(false);
    expect(delNeedsNoNetns(list(bridge({ type: "host-local" }), { type: "tuning" }))).to.equal(
      false,
    );
    expect(delNeedsNoNetns(list({ type: "calico" }))).to.equal(false);
    expect(delNeedsNoNetns(list(bridge("host-local")))).to.equal(false);
    expect(delNeedsNoNetns(list(bridge({})))).to.equal(false);
    expect(delNeedsNoNetns(list())).to.equal(false);
  });
});
