// Port-forward into a pod's network namespace (nsenter + socat per connection) and to a
// host-network pod's loopback: data intact both ways with half-close, connections side by side,
// refused ports rejected at once, nothing left running.
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { Duplex, PassThrough } from "node:stream";
import { expect } from "chai";
import { errorMessage } from "../../../src/errors.js";
import type { RuntimeStreams } from "../../../src/runtime/streaming/runtime-streams.js";
import { eventually, podConfig, startPodEnv, type PodEnv } from "../../support/pod-env.js";
import { childProcesses, runContainer, runtimeStreams, Sink } from "./helpers.js";

const ECHO_PORT = 8080;

/** A client connection as a transport would hand it over: what we write, what comes back. */
function clientConn(): { conn: Duplex; send: PassThrough; received: Sink } {
  const send = new PassThrough();
  const received = new Sink();
  return { conn: Duplex.from({ readable: send, writable: received }), send, received };
}

describe("streaming runtime: port-forward", function () {
  this.timeout(120_000);
  let env: PodEnv;
  let streams: RuntimeStreams;
  let podId: string;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startPodEnv();
    ({ streams } = runtimeStreams(env));
    // busybox nc: -ll with -e serves one `cat` per connection, for as long as the pod runs.
    const ctrId = await runContainer(
      env,
      "echo",
      ["nc", "-ll", "-p", String(ECHO_PORT), "-e", "cat"],
      "",
    );
    const list = await env.berthd.client.call.ListContainers({ filter: { id: ctrId } });
    podId = list.containers[0]!.pod_sandbox_id;
    // Until nc listens, connections are refused.
    await eventually(async () => {
      const { conn, send } = clientConn();
      const forwarding = streams.portForward(podId, ECHO_PORT, conn, new AbortController().signal);
      send.end("ping");
      await forwarding;
    });
  });
  after(async () => {
    await env?.cleanup();
  });
  afterEach(() => {
    const left = childProcesses().filter((p) => ["socat", "nsenter"].includes(p.comm));
    expect(left, "forwarding processes left behind").to.deep.equal([]);
  });

  async function roundTrip(pod: string, port: number, data: Buffer): Promise<Buffer> {
    const { conn, send, received } = clientConn();
    const forwarding = streams.portForward(pod, port, conn, new AbortController().signal);
    send.end(data);
    await forwarding;
    return received.buffer;
  }

  it("carries 1 MiB to an echo server in the pod and back, intact, with half-close", async () => {
    const data = randomBytes(1024 * 1024);
    const back = await roundTrip(podId, ECHO_PORT, data);
    expect(back.length).to.equal(data.length);
    expect(back.equals(data)).to.equal(true);
  });

  it("runs two connections at once", async () => {
    const a = randomBytes(300_000);
    const b = randomBytes(500_000);
    const [ba, bb] = await Promise.all([
      roundTrip(podId, ECHO_PORT, a),
      roundTrip(podId, ECHO_PORT, b),
    ]);
    expect(ba.equals(a)).to.equal(true);
    expect(bb.equals(b)).to.equal(true);
  });

  it("rejects a refused port at once, with a message naming port and pod", async () => {
    const { conn } = clientConn();
    const t0 = Date.now();
    try {
      await streams.portForward(podId, 8081, conn, new AbortController().signal);
      expect.fail("forward to a closed port succeeded");
    } catch (err) {
      expect(errorMessage(err)).to.equal(`connection refused to 127.0.0.1:8081 in pod ${podId}`);
    }
    expect(Date.now() - t0).to.be.lessThan(2000);
  });

  it("ends the forward when the client goes away", async () => {
    const { conn, send, received } = clientConn();
    const abort = new AbortController();
    const forwarding = streams.portForward(podId, ECHO_PORT, conn, abort.signal);
    send.write("still here");
    await received.waitFor(/still here/);
    abort.abort();
    await forwarding;
  });

  it("rejects unknown pods and bad ports", async () => {
    for (const [pod, port, kind] of [
      ["e".repeat(64), ECHO_PORT, "NOT_FOUND"],
      [podId, 0, "INVALID_ARGUMENT"],
      [podId, 70000, "INVALID_ARGUMENT"],
    ] as const) {
      try {
        await streams.portForward(pod, port, clientConn().conn, new AbortController().signal);
        expect.fail("forward succeeded");
      } catch (err) {
        expect((err as { kind?: string }).kind, errorMessage(err)).to.equal(kind);
      }
    }
  });

  describe("host-network pod", () => {
    let hostPod: string;
    let server: net.Server;
    let port: number;

    before(async () => {
      const pod = podConfig(env, "hostnet", {
        linux: {
          security_context: {
            namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" },
          },
        },
      });
      ({ pod_sandbox_id: hostPod } = await env.berthd.client.call.RunPodSandbox({ config: pod }));
      // An echo server on the host's loopback, which is the pod's.
      server = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as net.AddressInfo).port;
    });
    after(async () => {
      await new Promise((r) => server?.close(r));
    });

    it("forwards to the host's loopback", async () => {
      const data = randomBytes(1024 * 1024);
      expect((await roundTrip(hostPod, port, data)).equals(data)).to.equal(true);
    });

    it("rejects a refused port at once", async () => {
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
      const free = (closed.address() as net.AddressInfo).port;
      await new Promise((r) => closed.close(r));
      try {
        await roundTrip(hostPod, free, Buffer.from("x"));
        expect.fail("forward to a closed port succeeded");
      } catch (err) {
        expect(errorMessage(err)).to.equal(
          `connection refused to 127.0.0.1:${free} in pod ${hostPod}`,
        );
      }
    });
  });
});
