import { expect } from "chai";
import { defaultConfig } from "../../../src/config/config.js";
import { mergeConfig } from "../../../src/config/validate.js";

describe("config: [streaming]", () => {
  it("defaults to kubelet's stream timeouts and no TLS", () => {
    const s = defaultConfig().streaming;
    expect(s.stream_creation_timeout_seconds).to.equal(30);
    expect(s.stream_idle_timeout_seconds).to.equal(4 * 3600);
    expect(s.tls_cert_file).to.equal("");
  });

  it("merges its keys", () => {
    const out = mergeConfig(defaultConfig(), {
      streaming: {
        tls_cert_file: "/c.pem",
        tls_key_file: "/k.pem",
        max_sessions: 3n,
        stream_idle_timeout_seconds: 0n,
      },
    });
    expect(out.streaming.tls_cert_file).to.equal("/c.pem");
    expect(out.streaming.max_sessions).to.equal(3);
    expect(out.streaming.stream_idle_timeout_seconds).to.equal(0);
    expect(out.streaming.stream_creation_timeout_seconds).to.equal(30);
  });

  for (const [doc, key] of [
    [{ bogus: 1n }, "streaming.bogus"],
    [{ max_sessions: 0n }, "streaming.max_sessions"],
    [{ stream_creation_timeout_seconds: "30" }, "streaming.stream_creation_timeout_seconds"],
    [{ tls_cert_file: "/c.pem" }, "streaming.tls_key_file"],
    [{ tls_ca_file: "/ca.pem" }, "streaming.tls_ca_file"],
  ] as const) {
    it(`rejects ${JSON.stringify(doc, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))} naming ${key}`, () => {
      expect(() => mergeConfig(defaultConfig(), { streaming: doc })).to.throw(key);
    });
  }
});
