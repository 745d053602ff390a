import { expect } from "chai";
import { BerthMetrics } from "../../../src/metrics/berth-metrics.js";
import { StepTimers } from "../../../src/util/step-timer.js";

describe("StepTimer", () => {
  it("observes each step as the time since the previous mark, and the remainder at end", () => {
    const seen: [string, string, number][] = [];
    let t = 1_000n;
    const timers = new StepTimers({ observe: (l, s) => seen.push([l.op, l.step, s]) }, () => t);
    const timer = timers.begin("RunPodSandbox");
    t += 2_000_000n; // 2 ms
    timer.mark("files");
    t += 30_000_000n; // 30 ms
    timer.mark("network");
    t += 5_000_000n;
    const segments = timer.end();
    expect(seen).to.deep.equal([
      ["RunPodSandbox", "files", 0.002],
      ["RunPodSandbox", "network", 0.03],
      ["RunPodSandbox", "rest", 0.005],
    ]);
    expect(segments.map((s) => s.step)).to.deep.equal(["files", "network", "rest"]);
    t += 1_000_000n;
    timer.mark("late");
    timer.end();
    expect(seen).to.have.length(3); // nothing after end
  });

  it("feeds berth_operation_step_seconds{op,step} on berth's registry", async () => {
    const metrics = new BerthMetrics({ processMetrics: false });
    const timer = metrics.steps.begin("CreateContainer");
    timer.mark("spec");
    timer.end("conmon");
    const text = await metrics.registry.metrics();
    expect(text).to.match(
      /^berth_operation_step_seconds_count\{op="CreateContainer",step="spec"\} 1$/m,
    );
    expect(text).to.match(
      /^berth_operation_step_seconds_count\{op="CreateContainer",step="conmon"\} 1$/m,
    );
    const sum =
      /^berth_operation_step_seconds_sum\{op="CreateContainer",step="spec"\} (\S+)$/m.exec(text);
    expect(Number(sum?.[1])).to.be.at.least(0).and.below(1);
  });
});
