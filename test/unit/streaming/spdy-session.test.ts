// The SPDY/3.1 session over a real TCP pair, driven frame by frame by the test client.
import { once } from "node:events";
import { Writable } from "node:stream";
import { expect } from "chai";
import { GOAWAY_STATUS, RST_STATUS, encodeFrame } from "../../../src/streaming/spdy/frames.js";
import { SpdySession } from "../../../src/streaming/spdy/session.js";
import type { SpdyStream } from "../../../src/streaming/spdy/stream.js";
import { SpdyTestClient } from "../../support/spdy-test-client.js";

const KiB = 1024;

async function setup(idleTimeoutMs = 0): Promise<{
  client: SpdyTestClient;
  session: SpdySession;
  nextStream: () => Promise<SpdyStream>;
}> {
  let session: SpdySession | undefined;
  const { client } = await SpdyTestClient.connect(async (conn, head) => {
    session = new SpdySession(conn, head, { idleTimeoutMs });
    await session.closed;
  });
  const s = session!;
  const queue: SpdyStream[] = [];
  s.on("stream", (st) => queue.push(st));
  const nextStream = async (): Promise<SpdyStream> => {
    await client.until("a stream on the server", () => queue.length > 0);
    return queue.shift()!;
  };
  return { client, session: s, nextStream };
}

/** Reads to the end without destroying the stream (as `for await` would). */
async function readAll(stream: SpdyStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  stream.on("data", (c: Buffer) => parts.push(c));
  stream.resume();
  await once(stream, "end");
  return Buffer.concat(parts);
}

describe("SPDY session", () => {
  let client: SpdyTestClient | undefined;
  afterEach(() => client?.close());

  it("answers the client's PINGs (odd ids) and ignores replies to pings it never sent", async () => {
    const t = await setup();
    client = t.client;
    client.send({ type: "ping", id: 2 });
    client.send({ type: "ping", id: 7 });
    await client.until("the ping reply", () => client!.frames("ping").length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(client.frames("ping").map((f) => f.id)).to.deep.equal([7]);
  });

  it("frames the client sent along with its upgrade request (head) are served first", async () => {
    let session: SpdySession | undefined;
    const head = encodeFrame({ type: "ping", id: 9 });
    const { client: c } = await SpdyTestClient.connect(async (conn) => {
      session = new SpdySession(conn, head, { idleTimeoutMs: 0 });
      await session.closed;
    });
    client = c;
    await c.until("the ping reply", () => c.frames("ping").length > 0);
    expect(c.frames("ping")[0]?.id).to.equal(9);
  });

  it("exposes a stream with its headers, replies, and half-closes both ways", async () => {
    const t = await setup();
    client = t.client;
    const id = client.open({ StreamType: "stdin", Port: "80" });
    const s = await t.nextStream();
    expect(s.id).to.equal(id);
    expect(s.headers).to.deep.equal({ streamtype: "stdin", port: "80" });
    s.reply();
    await client.until("SYN_REPLY", () => client!.replied(id));
    const reading = readAll(s);
    client.data(id, "from client");
    client.data(id, "", true);
    expect((await reading).toString()).to.equal("from client");
    s.end("from server");
    await client.until("FIN", () => client!.finished(id));
    expect(client.dataOf(id).toString()).to.equal("from server");
  });

  it("keeps the client's windows once it shows flow control, resuming on WINDOW_UPDATE", async () => {
    const t = await setup();
    client = t.client;
    client.send({
      type: "settings",
      clear: false,
      entries: [{ flags: 0, id: 7, value: 64 * KiB }],
    });
    const id = client.open({ streamtype: "data" });
    const s = await t.nextStream();
    s.reply();
    const payload = Buffer.alloc(200 * KiB, 7);
    let written = false;
    s.write(payload, () => (written = true));
    await client.until("the first window", () => client!.dataOf(id).length >= 64 * KiB);
    await new Promise((r) => setTimeout(r, 100));
    expect(client.dataOf(id).length).to.equal(64 * KiB);
    expect(written).to.equal(false);
    client.send({ type: "window_update", streamId: id, delta: 16 * KiB });
    client.send({ type: "window_update", streamId: 0, delta: 16 * KiB });
    await client.until("the next 16 KiB", () => client!.dataOf(id).length >= 80 * KiB);
    await new Promise((r) => setTimeout(r, 50));
    expect(client.dataOf(id).length).to.equal(80 * KiB);
    client.autoWindowUpdate = true;
    client.send({ type: "window_update", streamId: id, delta: 64 * KiB });
    client.send({ type: "window_update", streamId: 0, delta: 64 * KiB });
    await client.until("everything", () => client!.dataOf(id).length === payload.length);
    expect(client.dataOf(id).equals(payload)).to.equal(true);
    await client.until("the write callback", () => written);
  });

  it("an exhausted window holds data but not the empty FIN that ends a stream", async () => {
    const t = await setup();
    client = t.client;
    client.send({ type: "settings", clear: false, entries: [{ flags: 0, id: 7, value: 0 }] });
    const a = client.open({ streamtype: "error" });
    const b = client.open({ streamtype: "data" });
    const sa = await t.nextStream();
    const sb = await t.nextStream();
    sa.end();
    sb.end("held");
    await client.until("FIN on the empty stream", () => client!.finished(a));
    await new Promise((r) => setTimeout(r, 50));
    expect(client.dataOf(b).length).to.equal(0);
    client.send({ type: "window_update", streamId: b, delta: 4 });
    await client.until("the held data", () => client!.finished(b));
    expect(client.dataOf(b).toString()).to.equal("held");
  });

  it("a client that sends no flow control frames (spdystream) is paced by the socket only", async () => {
    const t = await setup();
    client = t.client;
    const id = client.open({ streamtype: "data" });
    const s = await t.nextStream();
    s.reply();
    const payload = Buffer.alloc(1024 * KiB, 3);
    s.end(payload);
    await client.until("1 MiB with no WINDOW_UPDATE", () => client!.finished(id));
    expect(client.dataOf(id).length).to.equal(payload.length);
  });

  it("credits the client's window as data is consumed, and stops reading while a stream is full", async () => {
    const t = await setup();
    client = t.client;
    const id = client.open({ streamtype: "data" });
    const s = await t.nextStream();
    s.reply();
    s.pause();
    const sent = Buffer.alloc(400 * KiB);
    for (let i = 0; i < sent.length; i++) sent[i] = i % 251;
    for (let off = 0; off < sent.length; off += 16 * KiB) {
      client.data(id, sent.subarray(off, off + 16 * KiB));
    }
    client.send({ type: "ping", id: 1 });
    await new Promise((r) => setTimeout(r, 200));
    // Nothing consumed: no credit, and the socket is held, so the PING behind the data waits.
    expect(client.frames("window_update", id)).to.have.length(0);
    expect(client.frames("ping")).to.have.length(0);
    client.data(id, "", true);
    const got = await readAll(s);
    expect(got.equals(sent)).to.equal(true);
    await client.until("the ping reply", () => client!.frames("ping").length === 1);
    const credited = client.frames("window_update", 0).reduce((n, f) => n + f.delta, 0);
    expect(credited).to.equal(sent.length);
  });

  it("a stream read to its last byte without FIN lets the connection go on (no stream stalls)", async () => {
    const t = await setup();
    client = t.client;
    const a = client.open({ streamtype: "data", requestid: "0" });
    const sa = await t.nextStream();
    sa.reply();
    sa.pause();
    // spdystream ignores windows: 400 KiB in, no FIN (the port-forward client keeps writing
    // nothing more while it waits for its echo), then a second connection's stream and a PING.
    const sent = Buffer.alloc(400 * KiB, 7);
    for (let off = 0; off < sent.length; off += 16 * KiB) {
      client.data(a, sent.subarray(off, off + 16 * KiB));
    }
    const b = client.open({ streamtype: "data", requestid: "1" });
    client.data(b, "second connection");
    client.send({ type: "ping", id: 1 });
    // Its consumer takes every byte through a pipe into a slower writer (as port-forward pipes
    // into its socket), so the stream pauses and resumes on the writer's backpressure.
    let got = 0;
    sa.pipe(
      new Writable({
        highWaterMark: 16 * KiB,
        write: (c: Buffer, _e, cb) => {
          got += c.length;
          setTimeout(cb, 1);
        },
      }),
    );
    await client.until("stream A read to its end", () => got === sent.length);
    // The socket was held while A was full; A is empty now, so the rest must come through.
    await client.until("the ping reply", () => client!.frames("ping").length === 1);
    const sb = await t.nextStream();
    expect(sb.id).to.equal(b);
    sb.reply();
    sb.resume();
    const [chunk] = (await once(sb, "data")) as [Buffer];
    expect(chunk.toString()).to.equal("second connection");
    const credited = client.frames("window_update", a).reduce((n, f) => n + f.delta, 0);
    expect(credited, "A's window credited for every byte read").to.equal(sent.length);
  });

  it("a client RST_STREAM ends the stream quietly; reset() sends RST_STREAM CANCEL", async () => {
    const t = await setup();
    client = t.client;
    const a = client.open({ streamtype: "stdout" });
    const sa = await t.nextStream();
    sa.reply();
    const closed = once(sa, "close");
    client.send({ type: "rst_stream", streamId: a, status: RST_STATUS.CANCEL });
    await closed;
    expect(sa.resetStatus).to.equal(RST_STATUS.CANCEL);
    expect(sa.write("late")).to.equal(false);
    const b = client.open({ streamtype: "stderr" });
    const sb = await t.nextStream();
    sb.reset();
    await client.until("RST_STREAM", () => client!.frames("rst_stream", b).length > 0);
    expect(client.frames("rst_stream", b)[0]?.status).to.equal(RST_STATUS.CANCEL);
    expect(t.session.isClosed).to.equal(false);
  });

  it("close() sends GOAWAY naming the last stream, then closes the connection", async () => {
    const t = await setup();
    client = t.client;
    client.open({ streamtype: "error" });
    const id = client.open({ streamtype: "stdout" });
    await t.nextStream();
    await t.nextStream();
    await t.session.close();
    await client.until("the socket to close", () => client!.closed);
    expect(client.frames("goaway")).to.deep.equal([
      { type: "goaway", lastGoodStreamId: id, status: GOAWAY_STATUS.OK },
    ]);
    expect(t.session.signal.aborted).to.equal(true);
  });

  it("the idle timeout closes a connection nobody uses", async () => {
    const t = await setup(150);
    client = t.client;
    await client.until("the idle close", () => client!.closed, 3000);
    expect(client.frames("goaway")).to.have.length(1);
  });

  it("a stream id that does not increase is a protocol error: GOAWAY PROTOCOL_ERROR", async () => {
    const t = await setup();
    client = t.client;
    client.open({ streamtype: "a" }, { id: 5 });
    client.open({ streamtype: "b" }, { id: 3 });
    await client.until("GOAWAY", () => client!.frames("goaway").length > 0);
    expect(client.frames("goaway")[0]?.status).to.equal(GOAWAY_STATUS.PROTOCOL_ERROR);
  });
});
