// SPDY/3.1 frames on the wire (draft-mbelshe-httpbis-spdy-00 plus the 3.1 session window):
// plain data in, bytes out, and an incremental parser. Header blocks stay opaque here (they are
// compressed with a per-connection zlib context, see header-block.ts).

export const SPDY_VERSION = 3;

export const CONTROL_TYPE = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const FLAG_SETTINGS_CLEAR = 0x01;

export const RST_STATUS = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

export const GOAWAY_STATUS = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

export const SETTINGS_ID = { MAX_CONCURRENT_STREAMS: 4, INITIAL_WINDOW_SIZE: 7 } as const;

/** Frame header (8 bytes) plus the largest payload berth accepts: 24-bit length field. */
export const FRAME_HEADER_BYTES = 8;
export const MAX_FRAME_PAYLOAD = 0xffffff;

export interface SettingsEntry {
  flags: number;
  id: number;
  value: number;
}

export type Frame =
  | { type: "data"; streamId: number; fin: boolean; data: Buffer }
  | {
      type: "syn_stream";
      streamId: number;
      associatedId: number;
      priority: number;
      fin: boolean;
      unidirectional: boolean;
      headerBlock: Buffer;
    }
  | { type: "syn_reply"; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: "rst_stream"; streamId: number; status: number }
  | { type: "settings"; clear: boolean; entries: SettingsEntry[] }
  | { type: "ping"; id: number }
  | { type: "goaway"; lastGoodStreamId: number; status: number }
  | { type: "headers"; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: "window_update"; streamId: number; delta: number }
  | { type: "unknown"; version: number; frameType: number; flags: number; payload: Buffer };

/** A violation that ends the session (answered with GOAWAY PROTOCOL_ERROR). */
export class SpdyProtocolError extends Error {
  override readonly name = "SpdyProtocolError";
}

const ID_MASK = 0x7fffffff;

function control(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError("SPDY frame payload too large");
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  out.writeUInt16BE(type, 2);
  out.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  payload.copy(out, FRAME_HEADER_BYTES);
  return out;
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** The 8-byte header of a DATA frame; the payload follows it on the wire. */
export function dataFrameHeader(streamId: number, length: number, fin: boolean): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  h.writeUInt32BE(streamId & ID_MASK, 0);
  h.writeUInt32BE(((fin ? FLAG_FIN : 0) << 24) | length, 4);
  return h;
}

export function encodeFrame(f: Frame): Buffer {
  switch (f.type) {
    case "data":
      return Buffer.concat([dataFrameHeader(f.streamId, f.data.length, f.fin), f.data]);
    case "syn_stream": {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(f.streamId & ID_MASK, 0);
      fixed.writeUInt32BE(f.associatedId & ID_MASK, 4);
      fixed.writeUInt8((f.priority & 0x7) << 5, 8);
      const flags = (f.fin ? FLAG_FIN : 0) | (f.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
      return control(CONTROL_TYPE.SYN_STREAM, flags, Buffer.concat([fixed, f.headerBlock]));
    }
    case "syn_reply":
      return control(
        CONTROL_TYPE.SYN_REPLY,
        f.fin ? FLAG_FIN : 0,
        Buffer.concat([u32s(f.streamId & ID_MASK), f.headerBlock]),
      );
    case "headers":
      return control(
        CONTROL_TYPE.HEADERS,
        f.fin ? FLAG_FIN : 0,
        Buffer.concat([u32s(f.streamId & ID_MASK), f.headerBlock]),
      );
    case "rst_stream":
      return control(CONTROL_TYPE.RST_STREAM, 0, u32s(f.streamId & ID_MASK, f.status));
    case "settings": {
      const body = Buffer.allocUnsafe(4 + f.entries.length * 8);
      body.writeUInt32BE(f.entries.length, 0);
      f.entries.forEach((e, i) => {
        body.writeUInt32BE(((e.flags & 0xff) << 24) | (e.id & 0xffffff), 4 + i * 8);
        body.writeUInt32BE(e.value >>> 0, 8 + i * 8);
      });
      return control(CONTROL_TYPE.SETTINGS, f.clear ? FLAG_SETTINGS_CLEAR : 0, body);
    }
    case "ping":
      return control(CONTROL_TYPE.PING, 0, u32s(f.id));
    case "goaway":
      return control(CONTROL_TYPE.GOAWAY, 0, u32s(f.lastGoodStreamId & ID_MASK, f.status));
    case "window_update":
      return control(CONTROL_TYPE.WINDOW_UPDATE, 0, u32s(f.streamId & ID_MASK, f.delta & ID_MASK));
    case "unknown":
      return control(f.frameType, f.flags, f.payload);
  }
}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n) throw new SpdyProtocolError(`${what} frame too short`);
}

function decodeControl(type: number, flags: number, version: number, p: Buffer): Frame {
  const fin = (flags & FLAG_FIN) !== 0;
  switch (type) {
    case CONTROL_TYPE.SYN_STREAM:
      need(p, 10, "SYN_STREAM");
      return {
        type: "syn_stream",
        streamId: p.readUInt32BE(0) & ID_MASK,
        associatedId: p.readUInt32BE(4) & ID_MASK,
        priority: p.readUInt8(8) >> 5,
        fin,
        unidirectional: (flags & FLAG_UNIDIRECTIONAL) !== 0,
        headerBlock: p.subarray(10),
      };
    case CONTROL_TYPE.SYN_REPLY:
    case CONTROL_TYPE.HEADERS:
      need(p, 4, type === CONTROL_TYPE.SYN_REPLY ? "SYN_REPLY" : "HEADERS");
      return {
        type: type === CONTROL_TYPE.SYN_REPLY ? "syn_reply" : "headers",
        streamId: p.readUInt32BE(0) & ID_MASK,
        fin,
        headerBlock: p.subarray(4),
      };
    case CONTROL_TYPE.RST_STREAM:
      need(p, 8, "RST_STREAM");
      return {
        type: "rst_stream",
        streamId: p.readUInt32BE(0) & ID_MASK,
        status: p.readUInt32BE(4),
      };
    case CONTROL_TYPE.SETTINGS: {
      need(p, 4, "SETTINGS");
      const n = p.readUInt32BE(0);
      need(p, 4 + n * 8, "SETTINGS");
      const entries: SettingsEntry[] = [];
      for (let i = 0; i < n; i++) {
        const fid = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: fid >>> 24, id: fid & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { type: "settings", clear: (flags & FLAG_SETTINGS_CLEAR) !== 0, entries };
    }
    case CONTROL_TYPE.PING:
      need(p, 4, "PING");
      return { type: "ping", id: p.readUInt32BE(0) };
    case CONTROL_TYPE.GOAWAY:
      need(p, 4, "GOAWAY");
      return {
        type: "goaway",
        lastGoodStreamId: p.readUInt32BE(0) & ID_MASK,
        // SPDY/2 peers send no status; absent means OK.
        status: p.length >= 8 ? p.readUInt32BE(4) : GOAWAY_STATUS.OK,
      };
    case CONTROL_TYPE.WINDOW_UPDATE:
      need(p, 8, "WINDOW_UPDATE");
      return {
        type: "window_update",
        streamId: p.readUInt32BE(0) & ID_MASK,
        delta: p.readUInt32BE(4) & ID_MASK,
      };
    default:
      return { type: "unknown", version, frameType: type, flags, payload: p };
  }
}

/** Cuts a byte stream into frames. Control frames of another SPDY version are a protocol error. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    while (this.buf.length >= FRAME_HEADER_BYTES) {
      const length = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < FRAME_HEADER_BYTES + length) break;
      const flags = this.buf.readUInt8(4);
      const payload = this.buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
      const first = this.buf.readUInt32BE(0);
      this.buf = this.buf.subarray(FRAME_HEADER_BYTES + length);
      if ((first & 0x80000000) === 0) {
        frames.push({
          type: "data",
          streamId: first & ID_MASK,
          fin: (flags & FLAG_FIN) !== 0,
          data: payload,
        });
        continue;
      }
      const version = (first >>> 16) & 0x7fff;
      if (version !== SPDY_VERSION) {
        throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
      }
      frames.push(decodeControl(first & 0xffff, flags, version, payload));
    }
    return frames;
  }

  /** Bytes of an unfinished frame still held. */
  get pending(): number {
    return this.buf.length;
  }
}
