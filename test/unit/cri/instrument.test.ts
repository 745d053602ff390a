import { status } from "@grpc/grpc-js";
import type * as grpc from "@grpc/grpc-js";
import { expect } from "chai";
import { EventEmitter } from "node:events";
import { instrumentUnary } from "../../../src/cri/instrument.js";
import { NotFoundError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/log.js";
import { BerthMetrics } from "../../../src/metrics/berth-metrics.js";

/** Calls a wrapped unary handler the way grpc-js would, resolving with (error, response). */
function call(
  handler: grpc.handleUnaryCall<unknown, unknown>,
  request: unknown,
): Promise<{ err: Partial<grpc.StatusObject> | null; res: unknown }> {
  return new Promise((resolve) => {
    const fake = Object.assign(new EventEmitter(), { request }) as unknown as grpc.ServerUnaryCall<
      unknown,
      unknown
    >;
    handler(fake, (err, res) => resolve({ err: err ?? null, res }));
  });
}

describe("instrument wrapper", () => {
  it("answers UNAVAILABLE while recovery is not done, without calling the handler", async () => {
    let called = false;
    let ready = false;
    const metrics = new BerthMetrics({ processMetrics: false });
    const h = instrumentUnary(
      { log: silentLogger(), metrics, isReady: () => ready },
      "runtime.v1.RuntimeService",
      "ListContainers",
      async () => {
        called = true;
        return { containers: [] };
      },
    );
    const before = await call(h, {});
    expect(before.err?.code).to.equal(status.UNAVAILABLE);
    expect(before.err?.details).to.match(/recovery/);
    expect(called).to.equal(false);
    ready = true;
    const after = await call(h, {});
    expect(after.err).to.equal(null);
    expect(after.res).to.deep.equal({ containers: [] });
    expect(called).to.equal(true);
  });

  it("maps a thrown typed error to its code and counts it by method and code", async () => {
    const metrics = new BerthMetrics({ processMetrics: false });
    const h = instrumentUnary(
      { log: silentLogger(), metrics, isReady: () => true },
      "runtime.v1.RuntimeService",
      "ContainerStatus",
      async () => {
        throw new NotFoundError('container "abc" not found');
      },
    );
    const { err } = await call(h, { container_id: "abc" });
    expect(err?.code).to.equal(status.NOT_FOUND);
    expect(err?.details).to.equal('container "abc" not found');
    const text = await metrics.registry.metrics();
    expect(text).to.match(
      /berth_rpc_errors_total\{service="runtime.v1.RuntimeService",method="ContainerStatus",code="NOT_FOUND"\} 1/,
    );
  });
});
