import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { InvalidArgumentError, NotFoundError } from "../../../src/errors.js";
import { LazyPuller } from "../../../src/image/lazy-puller.js";
import type { PullerDeps } from "../../../src/image/puller.js";
import { silentLogger } from "../../../src/log.js";
import { BerthMetrics } from "../../../src/metrics/berth-metrics.js";

// A pull that fails at the reference or the manifest touches none of the stores.
const noStores = {
  log: silentLogger(),
  metrics: new BerthMetrics({ processMetrics: false }),
  maxConcurrentDownloads: 1,
} as unknown as Omit<PullerDeps, "client">;

describe("LazyPuller", () => {
  let server: http.Server;
  let requests: string[];
  let registry: string;
  before(async () => {
    requests = [];
    // A registry that knows no repository: every manifest is 404 MANIFEST_UNKNOWN.
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "unknown" }] }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    registry = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it("loads nothing until the first pull, then answers like the puller it loads", async () => {
    const lazy = new LazyPuller({ logger: silentLogger() }, noStores);
    try {
      expect(lazy.loaded).to.equal(false);
      const [bad, missing] = await Promise.allSettled([
        lazy.pull("Not A Reference"),
        lazy.pull(`${registry}/nothing/here:1`),
      ]);
      expect(lazy.loaded).to.equal(true);
      expect(bad.status === "rejected" && bad.reason).to.be.instanceOf(InvalidArgumentError);
      expect(missing.status === "rejected" && missing.reason).to.be.instanceOf(NotFoundError);
      expect(requests.some((r) => r.includes("/v2/nothing/here/manifests/1"))).to.equal(true);
    } finally {
      await lazy.close();
    }
  });

  it("closes without loading when it never pulled, and refuses pulls once closed", async () => {
    const lazy = new LazyPuller({ logger: silentLogger() }, noStores);
    await lazy.close();
    expect(lazy.loaded).to.equal(false);
    try {
      await lazy.pull(`${registry}/nothing/here:1`);
      expect.fail("pulled after close");
    } catch (err) {
      expect(String(err)).to.match(/closed/);
    }
    expect(lazy.loaded).to.equal(false);
  });
});
