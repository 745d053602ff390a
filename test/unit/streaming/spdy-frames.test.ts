// The SPDY/3.1 frame codec and the header-block zlib contexts, checked against node's zlib.
import * as zlib from "node:zlib";
import { expect } from "chai";
import { SPDY3_DICTIONARY } from "../../../src/streaming/spdy/dictionary.js";
import {
  type Frame,
  FrameParser,
  SpdyProtocolError,
  encodeFrame,
} from "../../../src/streaming/spdy/frames.js";
import {
  HeaderCompressor,
  HeaderDecompressor,
  decodeHeaderBlock,
  encodeHeaderBlock,
} from "../../../src/streaming/spdy/header-block.js";

const block = Buffer.from("opaque header block");

const SAMPLES: Frame[] = [
  { type: "data", streamId: 5, fin: false, data: Buffer.from("hello") },
  { type: "data", streamId: 0x7fffffff, fin: true, data: Buffer.alloc(0) },
  { type: "syn_stream", streamId: 3, associatedId: 0, priority: 7, fin: true, unidirectional: true, headerBlock: block },
  { type: "syn_reply", streamId: 3, fin: false, headerBlock: block },
  { type: "headers", streamId: 9, fin: true, headerBlock: block },
  { type: "rst_stream", streamId: 11, status: 5 },
  { type: "settings", clear: true, entries: [{ flags: 1, id: 7, value: 1 << 20 }, { flags: 0, id: 4, value: 100 }] },
  { type: "ping", id: 0xfffffffe },
  { type: "goaway", lastGoodStreamId: 13, status: 2 },
  { type: "window_update", streamId: 0, delta: 0x7fffffff },
]; // prettier-ignore

describe("SPDY frame codec", () => {
  it("every frame type survives encode → decode", () => {
    for (const f of SAMPLES) {
      const frames = new FrameParser().push(encodeFrame(f));
      expect(frames).to.have.length(1);
      expect(frames[0]).to.deep.equal(f);
    }
  });

  it("control frames carry version 3 and the type; DATA has the control bit clear", () => {
    const ping = encodeFrame({ type: "ping", id: 1 });
    expect(ping.subarray(0, 8).toString("hex")).to.equal("8003000600000004");
    const data = encodeFrame({ type: "data", streamId: 1, fin: true, data: Buffer.from("ab") });
    expect(data.toString("hex")).to.equal("00000001010000026162");
  });

  it("frames split at any byte and glued together come out the same", () => {
    const wire = Buffer.concat(SAMPLES.map(encodeFrame));
    const parser = new FrameParser();
    const out: Frame[] = [];
    for (let i = 0; i < wire.length; i += 3) out.push(...parser.push(wire.subarray(i, i + 3)));
    expect(out).to.deep.equal(SAMPLES);
    expect(parser.pending).to.equal(0);
  });

  it("a control frame of another SPDY version is a protocol error", () => {
    const v2 = encodeFrame({ type: "ping", id: 1 });
    v2.writeUInt16BE(0x8002, 0);
    expect(() => new FrameParser().push(v2)).to.throw(SpdyProtocolError, /version 2/);
  });

  it("a truncated control payload is a protocol error", () => {
    const bad = Buffer.from("8003000300000004" + "00000001", "hex"); // RST_STREAM without status
    expect(() => new FrameParser().push(bad)).to.throw(SpdyProtocolError);
  });
});

describe("SPDY/3 header blocks", () => {
  it("the dictionary is the spec's: 1423 bytes, zlib dictionary id 0xe3c6a7c2", () => {
    expect(SPDY3_DICTIONARY.length).to.equal(1423);
    // zlib's header carries the dictionary's Adler-32; node checks it against ours on inflate.
    const z = zlib.deflateSync(Buffer.from("x"), { dictionary: SPDY3_DICTIONARY });
    expect(z.readUInt32BE(2).toString(16)).to.equal("e3c6a7c2");
  });

  it("the uncompressed layout: counts and lengths, lower-case names, NUL-joined values", () => {
    const raw = encodeHeaderBlock({ StreamType: "error", multi: ["a", "b"] });
    expect(raw.readUInt32BE(0)).to.equal(2);
    expect(raw.subarray(8, 18).toString()).to.equal("streamtype");
    expect(raw.includes(Buffer.from("a\0b"))).to.equal(true);
    expect(decodeHeaderBlock(raw)).to.deep.equal({ streamtype: "error", multi: "a, b" });
  });

  it("our compressor's blocks inflate with node's zlib and the dictionary", () => {
    const c = new HeaderCompressor();
    const a = c.compress({ streamtype: "stdout", port: "80" });
    const b = c.compress({ streamtype: "stderr", requestid: "1" });
    // One context for the connection: the second block only makes sense after the first.
    const raw = zlib.inflateSync(Buffer.concat([a, b]), {
      dictionary: SPDY3_DICTIONARY,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    const first = encodeHeaderBlock({ streamtype: "stdout", port: "80" });
    expect(decodeHeaderBlock(raw.subarray(0, first.length))).to.deep.equal({
      streamtype: "stdout",
      port: "80",
    });
    expect(decodeHeaderBlock(raw.subarray(first.length))).to.deep.equal({
      streamtype: "stderr",
      requestid: "1",
    });
    // Each block ends with a sync flush marker, so a peer can decode it on arrival.
    expect(a.subarray(-4).toString("hex")).to.equal("0000ffff");
  });

  it("blocks from node's zlib (one context, sync flush per block) decompress in order", async () => {
    const deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY, level: 9 });
    const chunks: Buffer[] = [];
    deflate.on("data", (c: Buffer) => chunks.push(c));
    const compress = async (h: Record<string, string>): Promise<Buffer> => {
      deflate.write(encodeHeaderBlock(h));
      await new Promise<void>((r) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      await new Promise((r) => setImmediate(r));
      return Buffer.concat(chunks.splice(0));
    };
    const d = new HeaderDecompressor();
    const headers: Record<string, string>[] = [
      { streamtype: "error", port: "8080", requestid: "0" },
      { streamtype: "data", port: "8080", requestid: "0" },
      { streamtype: "resize" },
    ];
    for (const h of headers) expect(d.decompress(await compress(h))).to.deep.equal(h);
    deflate.close();
  });

  it("garbage is a protocol error", () => {
    expect(() => new HeaderDecompressor().decompress(Buffer.from("not zlib at all"))).to.throw(
      SpdyProtocolError,
    );
  });
});
