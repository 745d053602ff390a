// serveSpdyPortForward driven by the SPDY test client the way client-go's portforward drives it.
import { expect } from "chai";
import type { Duplex } from "node:stream";
import { RST_STATUS } from "../../../src/streaming/spdy/frames.js";
import { serveSpdyPortForward } from "../../../src/streaming/spdy/port-forward.js";
import type { ForwardPort, SessionLimits } from "../../../src/streaming/types.js";
import { SpdyTestClient } from "../../support/spdy-test-client.js";

const LIMITS: SessionLimits = { streamCreationTimeoutMs: 5000, idleTimeoutMs: 0 };

/** Echoes with the port in front; port 81 refuses, as a closed port would. */
const echoForward: ForwardPort = async (port: number, conn: Duplex) => {
  if (port === 81) throw Object.assign(new Error("dial tcp 127.0.0.1:81: connection refused"), { code: "ECONNREFUSED" });
  conn.write(`${port}:`);
  // Not `for await`: that destroys the Duplex at the end (which resets the stream).
  conn.on("data", (c: Buffer) => conn.write(c));
  await new Promise((r) => conn.once("end", r));
  await new Promise((r) => conn.end(r));
}; // prettier-ignore

async function serve(forward: ForwardPort = echoForward, limits = LIMITS) {
  return SpdyTestClient.connect((conn, head) => serveSpdyPortForward(conn, head, forward, limits));
}

function openPair(client: SpdyTestClient, port: string, requestId?: string) {
  const h = (type: string) => ({
    streamType: type,
    port,
    ...(requestId ? { requestID: requestId } : {}),
  });
  const error = client.open(h("error"));
  const data = client.open(h("data"));
  return { error, data };
}

describe("serveSpdyPortForward", () => {
  let client: SpdyTestClient | undefined;
  afterEach(() => client?.close());

  it("pairs streams by requestID and forwards several connections at once", async () => {
    const t = await serve();
    client = t.client;
    // Interleaved as concurrent client connections would be.
    const e1 = client.open({ streamType: "error", port: "80", requestID: "1" });
    const e2 = client.open({ streamType: "error", port: "8080", requestID: "2" });
    const d2 = client.open({ streamType: "data", port: "8080", requestID: "2" });
    const d1 = client.open({ streamType: "data", port: "80", requestID: "1" });
    client.data(d1, "one", true);
    client.data(d2, "two", true);
    await client.until(
      "both data streams to end",
      () => client!.finished(d1) && client!.finished(d2),
    );
    expect(client.dataOf(d1).toString()).to.equal("80:one");
    expect(client.dataOf(d2).toString()).to.equal("8080:two");
    await client.until(
      "the error streams to end",
      () => client!.finished(e1) && client!.finished(e2),
    );
    expect(client.dataOf(e1).length).to.equal(0);
    // The session stays for more connections.
    const next = openPair(client, "80", "3");
    client.data(next.data, "three", true);
    await client.until("the third", () => client!.finished(next.data));
    expect(client.dataOf(next.data).toString()).to.equal("80:three");
    expect(client.closed).to.equal(false);
  });

  it("a failed forward is reported on the error stream as kubelet's JSON; the session goes on", async () => {
    const t = await serve();
    client = t.client;
    const bad = openPair(client, "81", "1");
    await client.until("the error stream to end", () => client!.finished(bad.error));
    const body = JSON.parse(client.dataOf(bad.error).toString()) as unknown;
    expect(body).to.deep.equal({
      closeConnection: true,
      message: "error forwarding port 81: dial tcp 127.0.0.1:81: connection refused",
    });
    expect(client.finished(bad.data)).to.equal(true);
    const good = openPair(client, "80", "2");
    client.data(good.data, "ok", true);
    await client.until("the good one", () => client!.finished(good.data));
    expect(client.dataOf(good.data).toString()).to.equal("80:ok");
  });

  it("EPIPE and ECONNRESET keep closeConnection false, as kubelet does", async () => {
    const t = await serve(async () => {
      throw Object.assign(new Error("read: connection reset by peer"), { code: "ECONNRESET" });
    });
    client = t.client;
    const p = openPair(client, "80", "1");
    await client.until("the error", () => client!.finished(p.error));
    expect(JSON.parse(client.dataOf(p.error).toString())).to.include({ closeConnection: false });
  });

  it("an invalid port header: the error stream says why, a data stream is reset", async () => {
    const t = await serve();
    client = t.client;
    const e = client.open({ streamType: "error", port: "http", requestID: "1" });
    const d = client.open({ streamType: "data", port: "0", requestID: "1" });
    const none = client.open({ streamType: "error", requestID: "2" });
    await client.until("answers", () => client!.finished(e) && client!.frames("rst_stream", d).length > 0 && client!.finished(none));
    expect(client.dataOf(e).toString()).to.equal('unable to parse "http" as a port');
    expect(client.dataOf(none).toString()).to.equal('"port" header is required');
    expect(client.frames("rst_stream", d)[0]?.status).to.equal(RST_STATUS.CANCEL);
  }); // prettier-ignore

  it("a pair that never completes times out with a message on its error stream", async () => {
    let called = false;
    const t = await serve(async () => void (called = true), {
      streamCreationTimeoutMs: 150,
      idleTimeoutMs: 0,
    });
    client = t.client;
    const e = client.open({ streamType: "error", port: "80", requestID: "7" });
    await client.until("the timeout", () => client!.finished(e), 3000);
    expect(client.dataOf(e).toString()).to.include("request=7");
    expect(client.dataOf(e).toString()).to.include("timed out waiting for streams");
    expect(called).to.equal(false);
  });

  it("old clients without requestID are paired by stream id (error n, data n+2)", async () => {
    const t = await serve();
    client = t.client;
    const p = openPair(client, "80");
    client.data(p.data, "legacy", true);
    await client.until("the echo", () => client!.finished(p.data));
    expect(client.dataOf(p.data).toString()).to.equal("80:legacy");
  });

  it("the forward's signal aborts when the connection closes, and serving ends", async () => {
    let aborted = false;
    const t = await serve(async (_port, _conn, signal) => {
      await new Promise((r) => signal.addEventListener("abort", r));
      aborted = true;
    });
    client = t.client;
    const p = openPair(client, "80", "1");
    await client.until("replies", () => client!.replied(p.data));
    client.close();
    await t.served;
    expect(aborted).to.equal(true);
  });
});
