// A reply larger than kubelet's 16 MiB message limit, on a real grpc-js server and client: the
// caller gets RESOURCE_EXHAUSTED, and berth_rpc_errors_total counts the call (grpc-js itself
// refuses such a reply only after the handler returned, which the wrapper used to count as OK).
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import type * as grpc from "@grpc/grpc-js";
import { expect } from "chai";
import { CriClient } from "../../src/client/cri-client.js";
import { loadCriDefinitions } from "../../src/cri/proto.js";
import { bindUnix, createCriServer } from "../../src/cri/server.js";
import { silentLogger } from "../../src/log.js";
import { BerthMetrics } from "../../src/metrics/berth-metrics.js";

describe("replies over the message limit", () => {
  let dir: string;
  let server: grpc.Server;
  let client: CriClient;
  const metrics = new BerthMetrics({ processMetrics: false });

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-test-limit-"));
    const socket = path.join(dir, "s.sock");
    server = createCriServer(
      loadCriDefinitions(),
      {
        // Echoes the requested size as a version string: small requests, any reply size.
        Version: async (req: { version: string }) => ({
          version: "",
          runtime_name: "x".repeat(Number(req.version)),
          runtime_version: "",
          runtime_api_version: "v1",
        }),
      },
      { log: silentLogger(), metrics, isReady: () => true },
    );
    await bindUnix(server, socket);
    client = new CriClient(socket);
  });
  after(async () => {
    client.close();
    server.forceShutdown();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("answers RESOURCE_EXHAUSTED and counts the failed call", async () => {
    const ok = await client.call.Version({ version: String(15 * 1024 * 1024) });
    expect(ok.runtime_name.length).to.equal(15 * 1024 * 1024);
    try {
      await client.call.Version({ version: String(17 * 1024 * 1024) });
      expect.fail("an oversized reply was sent");
    } catch (err) {
      const e = err as { code: number; details: string };
      expect(e.code, e.details).to.equal(status.RESOURCE_EXHAUSTED);
      expect(e.details).to.match(/larger than/);
    }
    const text = await metrics.registry.metrics();
    expect(text).to.match(
      /berth_rpc_errors_total\{service="runtime.v1.RuntimeService",method="Version",code="RESOURCE_EXHAUSTED"\} 1/,
    );
    expect(text).to.match(
      /berth_rpc_duration_seconds_count\{service="runtime.v1.RuntimeService",method="Version",code="OK"\} 1/,
    );
  });
});
