// Every RPC of both services answers: implemented ones for real, the rest UNIMPLEMENTED naming
// the RPC. None hangs and none takes the daemon down.
import { readFileSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { loadCriDefinitions, PROTO_PATH } from "../../src/cri/proto.js";
import type { CriClientMethods } from "../../src/client/cri-client.js";
import { Berthd } from "../support/berthd.js";

/** RPC names as declared in the proto text, per service. */
function protoRpcs(): Record<string, string[]> {
  const text = readFileSync(PROTO_PATH, "utf8");
  const out: Record<string, string[]> = {};
  for (const m of text.matchAll(/service\s+(\w+)\s*\{([\s\S]*?)\n\}/g)) {
    out[m[1]!] = [...m[2]!.matchAll(/rpc\s+(\w+)\s*\(/g)].map((r) => r[1]!);
  }
  return out;
}

/** What berth answers for real; every other RPC must answer UNIMPLEMENTED with its name. */
const IMPLEMENTED = new Set<string>([
  "Version",
  "Status",
  "RuntimeConfig",
  "UpdateRuntimeConfig",
  "RunPodSandbox",
  "StopPodSandbox",
  "RemovePodSandbox",
  "PodSandboxStatus",
  "ListPodSandbox",
  "StreamPodSandboxes",
  "UpdatePodSandboxResources",
  "CreateContainer",
  "StartContainer",
  "StopContainer",
  "RemoveContainer",
  "ContainerStatus",
  "ListContainers",
  "StreamContainers",
  "ExecSync",
  "Exec",
  "Attach",
  "PortForward",
  "UpdateContainerResources",
  "ReopenContainerLog",
  "GetContainerEvents",
  "ContainerStats",
  "ListContainerStats",
  "StreamContainerStats",
  "PodSandboxStats",
  "ListPodSandboxStats",
  "StreamPodSandboxStats",
  "ListMetricDescriptors",
  "ListPodSandboxMetrics",
  "StreamPodSandboxMetrics",
  "PullImage",
  "ListImages",
  "StreamImages",
  "ImageStatus",
  "RemoveImage",
  "ImageFsInfo",
]);

/** A stream that stays open until the client cancels (events as they happen). */
const LONG_LIVED = "GetContainerEvents";

/** Opens the stream, waits briefly, cancels: OK when it stayed open without an error. */
async function longLivedOutcome(b: Berthd): Promise<string> {
  let failure: string | undefined;
  const cancel = b.client.watch(
    "GetContainerEvents",
    {},
    () => undefined,
    (e: Error & { code?: number }) => {
      failure = e.code !== undefined ? (status[e.code] ?? String(e.code)) : e.message;
    },
  );
  await new Promise((r) => setTimeout(r, 500));
  cancel();
  return failure ?? "OK";
}

describe("CRI API surface", function () {
  let berthd: Berthd;
  before(async () => {
    berthd = await Berthd.start();
  });
  after(async () => {
    await berthd?.cleanup();
  });

  it("serves exactly the RPCs of the proto (37 runtime, 6 image)", () => {
    const rpcs = protoRpcs();
    expect(rpcs.RuntimeService).to.have.length(37);
    expect(rpcs.ImageService).to.have.length(6);
    const defs = loadCriDefinitions();
    expect(Object.keys(defs.runtime).sort()).to.deep.equal([...rpcs.RuntimeService!].sort());
    expect(Object.keys(defs.image).sort()).to.deep.equal([...rpcs.ImageService!].sort());
  });

  it("answers every RPC with an empty request, and stays up", async function () {
    this.timeout(120_000);
    const defs = loadCriDefinitions();
    const names = [...Object.keys(defs.runtime), ...Object.keys(defs.image)];
    const call = berthd.client.call as unknown as Record<
      string,
      (req: unknown, o: { timeoutMs: number }) => Promise<unknown>
    >;
    const outcomes: Record<string, string> = {};
    for (const name of names) {
      if (name === LONG_LIVED) {
        outcomes[name] = await longLivedOutcome(berthd);
        continue;
      }
      try {
        await call[name]!({}, { timeoutMs: 10_000 });
        outcomes[name] = "OK";
      } catch (err) {
        const e = err as { code: number; details: string };
        expect(e.code, `${name}: ${e.details}`).to.not.equal(status.DEADLINE_EXCEEDED);
        expect(e.code, `${name}: ${e.details}`).to.not.equal(status.INTERNAL);
        expect(e.code, `${name}: ${e.details}`).to.not.equal(status.UNAVAILABLE);
        outcomes[name] = status[e.code]!;
        if (e.code === status.UNIMPLEMENTED) expect(e.details).to.include(name);
      }
    }
    const unimplemented = names.filter((n) => outcomes[n] === "UNIMPLEMENTED").sort();
    expect(unimplemented).to.deep.equal(names.filter((n) => !IMPLEMENTED.has(n)).sort());
    expect(berthd.running).to.equal(true);
    const v = await berthd.client.call.Version({});
    expect(v.runtime_name).to.equal("berth");
  });

  it("has a typed client method for every RPC", () => {
    const defs = loadCriDefinitions();
    const call: Partial<CriClientMethods> = berthd.client.call;
    for (const name of [...Object.keys(defs.runtime), ...Object.keys(defs.image)]) {
      expect(call, name).to.have.property(name).that.is.a("function");
    }
  });
});
