import { expect } from "chai";
import { ResourceExhaustedError } from "../../../src/errors.js";
import { RequestCache } from "../../../src/streaming/request-cache.js";
import type { StreamRequest } from "../../../src/streaming/types.js";

const exec: StreamRequest = {
  kind: "exec",
  containerId: "c1",
  cmd: ["ls"],
  tty: false,
  stdin: false,
  stdout: true,
  stderr: true,
};

describe("streaming request cache", () => {
  it("hands out URL-safe tokens that work exactly once", () => {
    const cache = new RequestCache();
    const token = cache.insert(exec);
    expect(token).to.match(/^[A-Za-z0-9_-]{16,}$/);
    expect(cache.consume(token)).to.deep.equal(exec);
    expect(cache.consume(token)).to.equal(undefined);
    expect(cache.consume("never-issued")).to.equal(undefined);
  });

  it("gives every request its own token", () => {
    const cache = new RequestCache();
    const tokens = new Set(Array.from({ length: 200 }, () => cache.insert(exec)));
    expect(tokens.size).to.equal(200);
  });

  it("expires tokens after the TTL", () => {
    let now = 1_000;
    const cache = new RequestCache({ ttlMs: 60_000, now: () => now });
    const early = cache.insert(exec);
    const late = cache.insert(exec);
    now += 60_000;
    expect(cache.consume(early)).to.deep.equal(exec); // exactly at the TTL: still valid
    now += 1;
    expect(cache.consume(late)).to.equal(undefined);
  });

  it("refuses more than maxTokens in flight with RESOURCE_EXHAUSTED, and frees expired ones", () => {
    let now = 0;
    const cache = new RequestCache({ ttlMs: 1000, maxTokens: 3, now: () => now });
    const first = cache.insert(exec);
    cache.insert(exec);
    cache.insert(exec);
    expect(() => cache.insert(exec)).to.throw(ResourceExhaustedError);
    // Consuming one makes room.
    cache.consume(first);
    cache.insert(exec);
    expect(() => cache.insert(exec)).to.throw(ResourceExhaustedError);
    // Once they expire, the next insert drops them.
    now += 1001;
    cache.insert(exec);
    expect(cache.size).to.equal(1);
  });
});
