import { expect } from "chai";
import type { Descriptor, Platform } from "../../../src/image/registry/manifest.js";
import {
  hostPlatform,
  normalizePlatform,
  selectPlatform,
} from "../../../src/image/registry/platform.js";

function desc(n: number, platform: Platform): Descriptor {
  return {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size: 1,
    platform,
  };
}

describe("platform selection", () => {
  const index = [
    desc(1, { os: "linux", architecture: "arm", variant: "v6" }),
    desc(2, { os: "linux", architecture: "arm", variant: "v7" }),
    desc(3, { os: "linux", architecture: "arm64", variant: "v8" }),
    desc(4, { os: "windows", architecture: "amd64", "os.version": "10.0.17763.1" }),
    desc(5, { os: "linux", architecture: "amd64" }),
    desc(6, { os: "unknown", architecture: "unknown" }),
    desc(7, { os: "linux", architecture: "amd64", variant: "v3" }),
  ];

  it("picks linux/amd64 on an amd64 node, ignoring windows and attestation entries", () => {
    expect(selectPlatform(index, { os: "linux", architecture: "amd64" })?.digest).to.equal(
      index[4]!.digest,
    );
  });

  it("prefers the node's own variant and falls back to older ones", () => {
    expect(
      selectPlatform(index, { os: "linux", architecture: "amd64", variant: "v3" })?.digest,
    ).to.equal(index[6]!.digest);
    expect(
      selectPlatform(index, { os: "linux", architecture: "arm", variant: "v7" })?.digest,
    ).to.equal(index[1]!.digest);
    expect(
      selectPlatform([index[0]!, index[2]!], { os: "linux", architecture: "arm", variant: "v7" })
        ?.digest,
    ).to.equal(index[0]!.digest);
    expect(
      selectPlatform([index[1]!], { os: "linux", architecture: "arm", variant: "v6" }),
    ).to.equal(undefined);
  });

  it("treats arm64 with and without v8 alike and accepts aarch64/x86_64 spellings", () => {
    expect(selectPlatform(index, { os: "linux", architecture: "aarch64" })?.digest).to.equal(
      index[2]!.digest,
    );
    const noVariant = [desc(8, { os: "linux", architecture: "arm64" })];
    expect(
      selectPlatform(noVariant, { os: "linux", architecture: "arm64", variant: "v8" })?.digest,
    ).to.equal(noVariant[0]!.digest);
    expect(selectPlatform(index, { os: "linux", architecture: "x86_64" })?.digest).to.equal(
      index[4]!.digest,
    );
  });

  it("ignores os.version and refuses other operating systems and architectures", () => {
    const win = [desc(9, { os: "linux", architecture: "amd64", "os.version": "whatever" })];
    expect(selectPlatform(win, { os: "linux", architecture: "amd64" })?.digest).to.equal(
      win[0]!.digest,
    );
    expect(selectPlatform(index, { os: "linux", architecture: "riscv64" })).to.equal(undefined);
    expect(selectPlatform(index, { os: "darwin", architecture: "amd64" })).to.equal(undefined);
    expect(selectPlatform([], { os: "linux", architecture: "amd64" })).to.equal(undefined);
  });

  it("describes this host in OCI terms", () => {
    const p = hostPlatform();
    expect(p.os).to.equal("linux");
    expect(p.architecture).to.not.equal("x64");
    expect(normalizePlatform({ os: "Linux", architecture: "ARM64" })).to.deep.equal({
      os: "linux",
      architecture: "arm64",
      variant: "v8",
    });
  });
});
