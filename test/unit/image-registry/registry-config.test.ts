import { expect } from "chai";
import { isLoopbackHost, registryEndpoints } from "../../../src/image/registry/endpoints.js";
import { resolveCredentials, credentialsKey } from "../../../src/image/registry/credentials.js";
import { parseImageConfig, parseManifest } from "../../../src/image/registry/manifest.js";
import { FailedPreconditionError, InvalidArgumentError } from "../../../src/errors.js";

const D = `sha256:${"b".repeat(64)}`;

describe("registry endpoints", () => {
  it("uses https for remote registries and Docker Hub's API host", () => {
    expect(registryEndpoints({}, "docker.io").map((e) => e.base)).to.deep.equal([
      "https://registry-1.docker.io/v2",
    ]);
    expect(registryEndpoints({}, "quay.io")[0]).to.include({
      base: "https://quay.io/v2",
      insecure: false,
      httpFallback: false,
    });
  });

  it("uses plain http for loopback registries", () => {
    for (const h of ["localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"]) {
      expect(isLoopbackHost(h), h).to.equal(true);
      expect(registryEndpoints({}, h)[0]?.base).to.equal(`http://${h}/v2`);
    }
    expect(isLoopbackHost("128.0.0.1")).to.equal(false);
    expect(isLoopbackHost("localhost.example.com")).to.equal(false);
  });

  it("tries mirrors in order, then the registry; '*' applies when no entry matches", () => {
    const cfg = {
      "docker.io": {
        mirrors: ["https://m1.example", "http://m2.example:5000/prefix/", "m3.example"],
        insecure: false,
      },
      "*": { mirrors: ["https://all.example/v2"], insecure: true },
    };
    const eps = registryEndpoints(cfg, "docker.io");
    expect(eps.map((e) => [e.base, e.mirror])).to.deep.equal([
      ["https://m1.example/v2", true],
      ["http://m2.example:5000/prefix/v2", true],
      ["https://m3.example/v2", true],
      ["https://registry-1.docker.io/v2", false],
    ]);
    const other = registryEndpoints(cfg, "quay.io");
    expect(other.map((e) => e.base)).to.deep.equal([
      "https://all.example/v2",
      "https://quay.io/v2",
    ]);
    expect(other[1]).to.include({ insecure: true, httpFallback: true });
  });
});

describe("registry credentials", () => {
  it("resolves AuthConfig fields", () => {
    expect(resolveCredentials(undefined)).to.deep.equal({ kind: "anonymous" });
    expect(resolveCredentials({ username: "", password: "" })).to.deep.equal({ kind: "anonymous" });
    expect(resolveCredentials({ username: "u", password: "p" })).to.deep.equal({
      kind: "basic",
      username: "u",
      password: "p",
    });
    expect(resolveCredentials({ auth: Buffer.from("u:p:q").toString("base64") })).to.deep.equal({
      kind: "basic",
      username: "u",
      password: "p:q",
    });
    expect(resolveCredentials({ username: "u", identity_token: "rt" })).to.deep.equal({
      kind: "identity",
      username: "u",
      refreshToken: "rt",
    });
    expect(resolveCredentials({ registry_token: "t", username: "u" })).to.deep.equal({
      kind: "registry-token",
      token: "t",
    });
    expect(() => resolveCredentials({ auth: Buffer.from("nocolon").toString("base64") })).to.throw(
      InvalidArgumentError,
    );
  });

  it("keys caches without exposing secrets", () => {
    const k = credentialsKey({ kind: "basic", username: "u", password: "hunter2" });
    expect(k).to.not.include("hunter2");
    expect(k).to.not.equal(credentialsKey({ kind: "basic", username: "u", password: "other" }));
  });
});

describe("manifest parsing", () => {
  const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D, size: 10 };
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { ...layer, mediaType: "application/vnd.oci.image.config.v1+json" },
    layers: [layer],
  };

  it("parses manifests and indexes, deciding by shape when mediaType is absent", () => {
    const m = parseManifest(Buffer.from(JSON.stringify(manifest)), undefined, "m");
    expect(m.kind).to.equal("manifest");
    const { mediaType: _omit, ...bare } = manifest;
    expect(parseManifest(Buffer.from(JSON.stringify(bare)), "application/json", "m").kind).to.equal(
      "manifest",
    );
    const idx = parseManifest(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          manifests: [{ ...layer, platform: { os: "linux", architecture: "amd64" } }],
        }),
      ),
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "i",
    );
    expect(idx.kind).to.equal("index");
    expect(idx.mediaType).to.equal("application/vnd.docker.distribution.manifest.list.v2+json");
  });

  it("rejects schema 1, bad digests, bad sizes and non-JSON", () => {
    const cases = [
      { schemaVersion: 1, name: "x" },
      { ...manifest, layers: [{ ...layer, digest: "sha256:zz" }] },
      { ...manifest, layers: [{ ...layer, size: -1 }] },
      { ...manifest, layers: [{ ...layer, size: 2 ** 60 }] },
    ];
    for (const c of cases) {
      expect(() => parseManifest(Buffer.from(JSON.stringify(c)), undefined, "m")).to.throw(
        FailedPreconditionError,
      );
    }
    expect(() => parseManifest(Buffer.from("nope"), undefined, "m")).to.throw(
      FailedPreconditionError,
    );
  });

  it("checks diff_ids in image configs", () => {
    expect(
      parseImageConfig(
        Buffer.from(JSON.stringify({ rootfs: { type: "layers", diff_ids: [D] } })),
        "c",
      ).rootfs.diff_ids,
    ).to.deep.equal([D]);
    expect(() =>
      parseImageConfig(Buffer.from(JSON.stringify({ rootfs: { diff_ids: ["x"] } })), "c"),
    ).to.throw(FailedPreconditionError);
    expect(() => parseImageConfig(Buffer.from("{}"), "c")).to.throw(FailedPreconditionError);
  });
});
