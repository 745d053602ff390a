import { expect } from "chai";
import { parseWwwAuthenticate } from "../../../src/image/registry/www-authenticate.js";

describe("parseWwwAuthenticate", () => {
  it("parses Docker Hub's bearer challenge", () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).to.deep.equal([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/busybox:pull",
        },
      },
    ]);
  });

  it("parses Basic, unquoted values, spaces and escapes", () => {
    expect(parseWwwAuthenticate('Basic realm="Registry \\"R\\""')).to.deep.equal([
      { scheme: "basic", params: { realm: 'Registry "R"' } },
    ]);
    expect(parseWwwAuthenticate("Bearer  Realm = https://x/t , service=reg")).to.deep.equal([
      { scheme: "bearer", params: { realm: "https://x/t", service: "reg" } },
    ]);
  });

  it("separates several challenges in one header and across headers", () => {
    const got = parseWwwAuthenticate([
      'Basic realm="a", Bearer realm="b",service="s"',
      "Negotiate abc==",
    ]);
    expect(got).to.deep.equal([
      { scheme: "basic", params: { realm: "a" } },
      { scheme: "bearer", params: { realm: "b", service: "s" } },
      { scheme: "negotiate", params: { "": "abc==" } },
    ]);
    expect(parseWwwAuthenticate("Basic, Bearer realm=x")).to.deep.equal([
      { scheme: "basic", params: {} },
      { scheme: "bearer", params: { realm: "x" } },
    ]);
  });

  it("keeps commas inside quoted values and survives junk", () => {
    expect(
      parseWwwAuthenticate('Bearer realm="https://a/t",scope="repository:a:pull,push"')[0]?.params
        .scope,
    ).to.equal("repository:a:pull,push");
    expect(parseWwwAuthenticate(undefined)).to.deep.equal([]);
    expect(parseWwwAuthenticate("")).to.deep.equal([]);
    expect(parseWwwAuthenticate('Bearer realm="unterminated')).to.deep.equal([
      { scheme: "bearer", params: { realm: "unterminated" } },
    ]);
  });
});
