import { expect } from "chai";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  buildCniArgs,
  buildPluginEnv,
  buildPluginStdin,
  runtimeConfigFor,
  toCniPortMappings,
} from "../../../src/network/cni-exec.js";
import type { NetworkConfigList } from "../../../src/network/cni-types.js";

const pod = { podName: "web-0", namespace: "default", uid: "1234-abcd", sandboxId: "f00d" };

describe("network/cni-exec", () => {
  it("builds CNI_ARGS with the Kubernetes keys", () => {
    expect(buildCniArgs(pod)).to.equal(
      "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=f00d;K8S_POD_UID=1234-abcd",
    );
  });

  it("rejects CNI_ARGS values that would split into other keys", () => {
    expect(() => buildCniArgs({ ...pod, podName: "a;K8S_POD_UID=x" })).to.throw(
      InvalidArgumentError,
      /config\.metadata\.name/,
    );
  });

  it("builds the plugin env from the base env, replacing any CNI_ variables", () => {
    const env = buildPluginEnv(
      { PATH: "/usr/bin", CNI_NETNS: "/stale", HOME: "/root" },
      {
        command: "ADD",
        containerId: "c1",
        netns: "/run/ns",
        ifName: "eth0",
        cniArgs: "IgnoreUnknown=1",
        pluginDirs: ["/a", "", "/b"],
      },
    );
    expect(env).to.deep.equal({
      PATH: "/usr/bin",
      HOME: "/root",
      CNI_COMMAND: "ADD",
      CNI_PATH: "/a:/b",
      CNI_CONTAINERID: "c1",
      CNI_NETNS: "/run/ns",
      CNI_IFNAME: "eth0",
      CNI_ARGS: "IgnoreUnknown=1",
    });
  });

  it("passes an empty CNI_NETNS through for DEL, and only CNI_COMMAND/CNI_PATH for VERSION", () => {
    const call = { containerId: "c1", netns: "", ifName: "eth0", cniArgs: "", pluginDirs: ["/a"] };
    expect(buildPluginEnv({}, { ...call, command: "DEL" })["CNI_NETNS"]).to.equal("");
    expect(buildPluginEnv({}, { ...call, command: "VERSION" })).to.deep.equal({
      CNI_COMMAND: "VERSION",
      CNI_PATH: "/a",
    });
  });

  it("converts CRI port mappings, dropping those without a host port", () => {
    expect(
      toCniPortMappings([
        { protocol: "TCP", container_port: 80, host_port: 8080, host_ip: "" },
        { protocol: "UDP", container_port: 53, host_port: 5353, host_ip: "127.0.0.1" },
        { protocol: "SCTP", container_port: 9, host_port: 9 },
        { protocol: "TCP", container_port: 443, host_port: 0 },
      ]),
    ).to.deep.equal([
      { hostPort: 8080, containerPort: 80, protocol: "tcp" },
      { hostPort: 5353, containerPort: 53, protocol: "udp", hostIP: "127.0.0.1" },
      { hostPort: 9, containerPort: 9, protocol: "sctp" },
    ]);
  });

  describe("runtimeConfig", () => {
    const caps = {
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" as const }],
      dns: { servers: ["10.0.0.10"], searches: ["svc"], options: ["ndots:5"] },
      bandwidth: { ingressRate: 1000 },
    };

    it("gives a plugin only the capabilities it declares and the runtime has", () => {
      expect(
        runtimeConfigFor(
          { type: "portmap", capabilities: { portMappings: true, ips: true } },
          caps,
        ),
      ).to.deep.equal({
        portMappings: caps.portMappings,
      });
      expect(
        runtimeConfigFor({ type: "x", capabilities: { dns: true, bandwidth: true } }, caps),
      ).to.deep.equal({
        dns: caps.dns,
        bandwidth: caps.bandwidth,
      });
      expect(runtimeConfigFor({ type: "bridge" }, caps)).to.equal(undefined);
      expect(
        runtimeConfigFor({ type: "portmap", capabilities: { portMappings: false } }, caps),
      ).to.equal(undefined);
    });

    it("builds stdin with the list's name and version, runtimeConfig and prevResult", () => {
      const list: NetworkConfigList = {
        cniVersion: "1.0.0",
        name: "net",
        disableCheck: false,
        plugins: [
          {
            type: "portmap",
            capabilities: { portMappings: true },
            snat: true,
            cniVersion: "0.1.0",
          },
        ],
      };
      const prev = { cniVersion: "1.0.0", ips: [] };
      const stdin = buildPluginStdin(list, list.plugins[0]!, caps, prev);
      expect(stdin).to.deep.equal({
        type: "portmap",
        capabilities: { portMappings: true },
        snat: true,
        cniVersion: "1.0.0",
        name: "net",
        runtimeConfig: { portMappings: caps.portMappings },
        prevResult: prev,
      });
      const first = buildPluginStdin(
        list,
        { type: "bridge", prevResult: { stale: true } },
        caps,
        undefined,
      );
      expect(first).to.not.have.property("prevResult");
      expect(first).to.not.have.property("runtimeConfig");
    });
  });
});

describe("network/bridge-masq", () => {
  it("names the bridge plugin's chain and builds the removal commands per family", async () => {
    const { masqChainName, masqCleanupCommands, usesBridgeMasq } =
      await import("../../../src/network/bridge-masq.js");
    // The value the bridge plugin gave this network and container in a real run.
    expect(masqChainName("bt-6a8b5a", "6a8b5agone")).to.equal("CNI-a969d959174c5bdbfd05036b");
    const cmds = masqCleanupCommands("net", "c1", ["10.1.0.5/24", "fd00::5/64"]);
    const chain = masqChainName("net", "c1");
    const comment = 'name: "net" id: "c1"';
    expect(cmds).to.deep.equal([
      {
        file: "iptables",
        args: [
          "-w",
          "-t",
          "nat",
          "-D",
          "POSTROUTING",
          "-s",
          "10.1.0.5/32",
          "-m",
          "comment",
          "--comment",
          comment,
          "-j",
          chain,
        ],
      },
      {
        file: "ip6tables",
        args: [
          "-w",
          "-t",
          "nat",
          "-D",
          "POSTROUTING",
          "-s",
          "fd00::5/128",
          "-m",
          "comment",
          "--comment",
          comment,
          "-j",
          chain,
        ],
      },
      { file: "iptables", args: ["-w", "-t", "nat", "-F", chain] },
      { file: "iptables", args: ["-w", "-t", "nat", "-X", chain] },
      { file: "ip6tables", args: ["-w", "-t", "nat", "-F", chain] },
      { file: "ip6tables", args: ["-w", "-t", "nat", "-X", chain] },
    ]);
    const list = {
      cniVersion: "1.0.0",
      name: "n",
      disableCheck: false,
      plugins: [{ type: "bridge", ipMasq: true }],
    };
    expect(usesBridgeMasq(list)).to.equal(true);
    expect(usesBridgeMasq({ ...list, plugins: [{ type: "bridge" }] })).to.equal(false);
  });
});
