// Port-forward over WebSocket: the channel protocols (?port=, data 2i / error 2i+1, each opened
// with the port in little-endian) and SPDY tunnelled in WebSocket binary messages, each with
// 1 MiB going to a TCP echo server on 127.0.0.1 and back.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { ServeSpdyPortForward } from "../../../src/streaming/types.js";
import { startEchoServer } from "../../support/fake-streaming-runtime.js";
import { Client, eventually, notSpdy, startServer, type Harness } from "./helpers.js";
import { RawWebSocket } from "./raw-websocket.js";

const MiB = 1024 * 1024;

function le(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}

/** Sends `data` on `channel` in 64 KiB messages and waits for as much to come back on it. */
async function roundTrip(c: Client, channel: number, data: Buffer, already: number): Promise<void> {
  for (let i = 0; i < data.length; i += 64 * 1024) c.send(channel, data.subarray(i, i + 64 * 1024));
  await eventually(() => c.channel(channel).length >= already + data.length, 20_000);
}

describe("streaming server: port-forward over WebSocket", function () {
  let h: Harness;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  beforeEach(async () => {
    echo = await startEchoServer();
    h = await startServer();
  });
  afterEach(async () => {
    await h.server.close();
    await echo.close();
  });

  const pf = (ports: number[] = []) => ({
    kind: "portforward" as const,
    podSandboxId: "pod1",
    ports,
  });

  for (const protocol of ["v4.channel.k8s.io", "portforward.k8s.io", "v4.base64.channel.k8s.io"]) {
    it(`${protocol}: port bytes first on both channels, then 1 MiB there and back`, async () => {
      const c = await Client.connect(`${h.server.url(pf())}?port=${echo.port}`, [protocol]);
      expect(c.protocol).to.equal(protocol);
      await c.waitFor((m) => m.channel === 1);
      expect(c.messages.slice(0, 2).map((m) => [m.channel, m.data])).to.deep.equal([
        [0, le(echo.port)],
        [1, le(echo.port)],
      ]);
      const data = randomBytes(MiB);
      await roundTrip(c, 0, data, 2);
      expect(c.channel(0).subarray(2).equals(data)).to.equal(true);
      c.ws.close();
      await c.closed;
      await eventually(() => h.observed.ended.length === 1);
      expect(h.observed.ended).to.deep.equal(["portforward:success"]);
      expect(h.runtime.forwards).to.deep.equal([{ pod: "pod1", port: echo.port }]);
      expect(c.channel(1)).to.deep.equal(le(echo.port)); // no error
    });
  }

  it("two connections at once, 1 MiB each", async () => {
    const [a, b] = await Promise.all(
      [0, 1].map(() =>
        Client.connect(`${h.server.url(pf())}?port=${echo.port}`, ["v4.channel.k8s.io"]),
      ),
    );
    const da = randomBytes(MiB);
    const db = randomBytes(MiB);
    await Promise.all([roundTrip(a!, 0, da, 2), roundTrip(b!, 0, db, 2)]);
    expect(a!.channel(0).subarray(2).equals(da)).to.equal(true);
    expect(b!.channel(0).subarray(2).equals(db)).to.equal(true);
    a!.ws.close();
    b!.ws.close();
    await eventually(() => h.observed.ended.length === 2);
  });

  it("several ports in one WebSocket: a channel pair each (?port= repeated and comma-separated)", async () => {
    const other = await startEchoServer();
    try {
      const c = await Client.connect(
        `${h.server.url(pf())}?port=${echo.port},${other.port}&port=${echo.port}`,
        ["v4.channel.k8s.io"],
      );
      await c.waitFor((m) => m.channel === 5);
      expect(c.channel(2)).to.deep.equal(le(other.port));
      expect(c.channel(5)).to.deep.equal(le(echo.port));
      c.send(2, "to the second port");
      c.send(4, "to the third");
      await eventually(() => c.channel(2).length === 2 + 18 && c.channel(4).length === 2 + 12);
      expect(c.channel(2).subarray(2).toString()).to.equal("to the second port");
      expect(c.channel(4).subarray(2).toString()).to.equal("to the third");
      c.ws.close();
      await c.closed;
    } finally {
      await other.close();
    }
  });

  it("without ?port= it forwards the ports the RPC named; with none at all it is 400", async () => {
    const c = await Client.connect(h.server.url(pf([echo.port])), ["v4.channel.k8s.io"]);
    c.send(0, "named by the RPC");
    await eventually(() => c.channel(0).length === 2 + 16);
    c.ws.close();
    for (const query of ["", "?port=0", "?port=http", "?port=70000", "?port="]) {
      let err: unknown;
      try {
        await Client.connect(`${h.server.url(pf())}${query}`, ["v4.channel.k8s.io"]);
      } catch (e) {
        err = e;
      }
      expect(String(err), query).to.contain("HTTP 400");
    }
  });

  it("a port that refuses the connection: the error channel says so and the session ends", async () => {
    const closedPort = await (async () => {
      const tmp = await startEchoServer();
      await tmp.close();
      return tmp.port;
    })();
    const c = await Client.connect(`${h.server.url(pf())}?port=${closedPort}`, [
      "v4.channel.k8s.io",
    ]);
    const { code } = await c.closed;
    expect(code).to.equal(1000);
    const err = c.channel(1).subarray(2).toString();
    expect(err).to.match(
      new RegExp(`^error forwarding port ${closedPort} to pod pod1, uid : .*ECONNREFUSED`),
    );
    await eventually(() => h.observed.ended.length === 1);
    expect(h.observed.ended).to.deep.equal(["portforward:error"]);
  });

  it("a client that goes away aborts the forward's signal", async () => {
    const c = await Client.connect(`${h.server.url(pf())}?port=${echo.port}`, [
      "v4.channel.k8s.io",
    ]);
    await c.waitFor((m) => m.channel === 1);
    const aborted = h.runtime.abortSeen;
    (c.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    await aborted;
    expect(h.runtime.aborted).to.deep.equal([`portforward ${echo.port}`]);
  });

  it("SPDY/3.1+portforward.k8s.io: the WebSocket's binary messages are the SPDY byte stream", async () => {
    await h.server.close();
    const heads: Buffer[] = [];
    // Stand-in SPDY server: treats the tunnel itself as one forwarded connection.
    const portForward: ServeSpdyPortForward = async (conn, head, forward) => {
      heads.push(head);
      await forward(echo.port, conn, new AbortController().signal);
    };
    h = await startServer({ spdy: { ...notSpdy, portForward } });
    const path = new URL(h.server.url(pf())).pathname;
    const c = await RawWebSocket.connect(h.port, path, "SPDY/3.1+portforward.k8s.io");
    expect(c.protocol).to.equal("SPDY/3.1+portforward.k8s.io");
    const data = randomBytes(MiB);
    for (let i = 0; i < data.length; i += 100_000) c.send(data.subarray(i, i + 100_000));
    await eventually(() => c.binary().length >= MiB, 20_000);
    expect(c.binary().equals(data)).to.equal(true);
    // Only binary frames (no channel byte, no text).
    expect(new Set(c.frames.map((f) => f.opcode))).to.deep.equal(new Set([2]));
    expect(heads).to.deep.equal([Buffer.alloc(0)]);
    c.close();
    await c.closed;
    await eventually(() => h.observed.ended.length === 1);
    expect(h.observed.ended).to.deep.equal(["portforward:success"]);
  });
});
