// Exec, Attach and PortForward through the CRI: what kubelet may send and what it gets back
// (a single-use absolute URL on the streaming server), and the errors for what it must not send.
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { type PodEnv, eventually, runPodWith, startPodEnv } from "../../support/pod-env.js";

function grpcCode(err: unknown): number | undefined {
  return typeof err === "object" && err !== null && "code" in err
    ? (err as { code: number }).code
    : undefined;
}

async function rejects(p: Promise<unknown>, code: number, text?: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(grpcCode(err), String(err)).to.equal(code);
    if (text !== undefined) expect(String(err)).to.include(text);
    return;
  }
  expect.fail("the call succeeded");
}

describe("streaming RPCs", function () {
  this.timeout(60_000);
  let env: PodEnv;
  let ctrId: string;
  let podId: string;
  let exitedId: string;

  before(async () => {
    env = await startPodEnv();
    ({ ctrId, podId } = await runPodWith(env, "rpc", ["/bin/sleep", "3600"]));
    ({ ctrId: exitedId } = await runPodWith(env, "rpc-done", ["/bin/true"]));
    await eventually(async () => {
      const st = await env.berthd.client.call.ContainerStatus({ container_id: exitedId });
      expect(st.status?.state).to.equal("CONTAINER_EXITED");
    });
  });
  after(async () => {
    await env?.cleanup();
  });

  it("Exec, Attach and PortForward answer absolute single-use URLs", async () => {
    const c = env.berthd.client.call;
    const urls = [
      (await c.Exec({ container_id: ctrId, cmd: ["true"], stdout: true })).url,
      (await c.Attach({ container_id: ctrId, stdout: true })).url,
      (await c.PortForward({ pod_sandbox_id: podId, port: [80] })).url,
    ];
    const kinds = ["exec", "attach", "portforward"];
    for (const [i, url] of urls.entries()) {
      expect(url).to.match(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${kinds[i]}/[\\w-]+$`));
    }
    expect(new Set(urls.map((u) => u.split("/").pop())).size).to.equal(3);
    // A plain request spends the token (it is no upgrade); the second finds nothing.
    const first = await fetch(urls[0]!);
    expect(first.status).to.not.equal(404);
    const again = await fetch(urls[0]!);
    expect(again.status).to.equal(404);
    const unknown = await fetch(urls[1]!.replace(/[\w-]+$/, "no-such-token"));
    expect(unknown.status).to.equal(404);
  });

  it("a tty with stderr is INVALID_ARGUMENT, as is asking for no stream", async () => {
    const c = env.berthd.client.call;
    await rejects(
      c.Exec({ container_id: ctrId, cmd: ["sh"], tty: true, stdout: true, stderr: true }),
      status.INVALID_ARGUMENT,
      "stderr",
    );
    await rejects(c.Exec({ container_id: ctrId, cmd: ["sh"] }), status.INVALID_ARGUMENT, "stdin");
    await rejects(c.Exec({ container_id: ctrId, stdout: true }), status.INVALID_ARGUMENT, "cmd");
    await rejects(
      c.Attach({ container_id: ctrId, tty: true, stderr: true }),
      status.INVALID_ARGUMENT,
      "stderr",
    );
  });

  it("unknown containers and pods are NOT_FOUND, stopped ones FAILED_PRECONDITION", async () => {
    const c = env.berthd.client.call;
    await rejects(
      c.Exec({ container_id: "f".repeat(64), cmd: ["true"], stdout: true }),
      status.NOT_FOUND,
    );
    await rejects(c.Attach({ container_id: "f".repeat(64), stdout: true }), status.NOT_FOUND);
    await rejects(c.PortForward({ pod_sandbox_id: "f".repeat(64), port: [80] }), status.NOT_FOUND);
    await rejects(
      c.Exec({ container_id: exitedId, cmd: ["true"], stdout: true }),
      status.FAILED_PRECONDITION,
    );
  });

  it("a port outside 1-65535 is INVALID_ARGUMENT naming it", async () => {
    const c = env.berthd.client.call;
    await rejects(
      c.PortForward({ pod_sandbox_id: podId, port: [80, 70000] }),
      status.INVALID_ARGUMENT,
      "port[1]",
    );
  });
});
