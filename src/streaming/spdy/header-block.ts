// SPDY/3 name/value header blocks: the uncompressed layout (32-bit counts and lengths, lower-case
// names, several values of one name joined by NUL) and the zlib contexts that carry them. Each
// direction of a connection has one context for its whole life, seeded with the SPDY/3
// dictionary, and every block ends with a sync flush so the peer can decode it at once.
//
// pako, not node:zlib: node's zlib streams are asynchronous and its one-shot functions cannot
// keep a context between blocks, while frames must be encoded and decoded in wire order.
// pako's Deflate/Inflate are synchronous and keep their state across push() calls.
import { Deflate, Inflate, Z_SYNC_FLUSH } from "pako";
import { SPDY3_DICTIONARY } from "./dictionary.js";
import { SpdyProtocolError } from "./frames.js";

/** Header names are lower-case; a value given as a list is sent as several values. */
export type SpdyHeaders = Record<string, string>;
export type OutgoingHeaders = Record<string, string | readonly string[]>;

/** Generous for the few short headers streaming uses; guards against decompression bombs. */
const MAX_HEADER_BLOCK_BYTES = 256 * 1024;

export function encodeHeaderBlock(headers: OutgoingHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), "utf8");
    const v = Buffer.from(typeof value === "string" ? value : value.join("\0"), "utf8");
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Decodes a block; names are lower-cased, several values of one name are joined with ", ". */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  let off = 0;
  const read = (n: number): Buffer => {
    if (off + n > block.length) throw new SpdyProtocolError("truncated header block");
    const b = block.subarray(off, off + n);
    off += n;
    return b;
  };
  const count = read(4).readUInt32BE(0);
  const out: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = read(read(4).readUInt32BE(0)).toString("utf8").toLowerCase();
    const value = read(read(4).readUInt32BE(0)).toString("utf8");
    if (name === "") throw new SpdyProtocolError("empty header name");
    const joined = value.split("\0").join(", ");
    out[name] = name in out ? `${out[name]}, ${joined}` : joined;
  }
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

function collect(target: Deflate | Inflate): { take: () => Buffer } {
  let chunks: Uint8Array[] = [];
  target.onData = (chunk: Uint8Array) => {
    chunks.push(chunk);
  };
  return {
    take: () => {
      const out = Buffer.concat(chunks);
      chunks = [];
      return out;
    },
  };
}

/** The sending side's context: one per connection. */
export class HeaderCompressor {
  private readonly deflate = new Deflate({ dictionary: SPDY3_DICTIONARY, level: 6 });
  private readonly out = collect(this.deflate);

  compress(headers: OutgoingHeaders): Buffer {
    this.deflate.push(encodeHeaderBlock(headers), Z_SYNC_FLUSH);
    if (this.deflate.err) throw new Error(`header compression failed: ${this.deflate.msg}`);
    return this.out.take();
  }
}

/** The receiving side's context: one per connection; an error poisons the session. */
export class HeaderDecompressor {
  private readonly inflate = new Inflate({ dictionary: SPDY3_DICTIONARY });
  private readonly out = collect(this.inflate);

  decompress(block: Buffer): SpdyHeaders {
    if (block.length === 0) return {};
    this.inflate.push(block, Z_SYNC_FLUSH);
    if (this.inflate.err) {
      throw new SpdyProtocolError(`bad header block: ${this.inflate.msg || this.inflate.err}`);
    }
    const raw = this.out.take();
    if (raw.length > MAX_HEADER_BLOCK_BYTES) throw new SpdyProtocolError("header block too large");
    return decodeHeaderBlock(raw);
  }
}
