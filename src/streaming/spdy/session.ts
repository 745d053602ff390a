// The server side of a SPDY/3.1 connection over any Duplex (a TCP/TLS socket after `101
// Switching Protocols`, or a WebSocket wrapped as a Duplex). It answers what the clients send
// (moby/spdystream, used by client-go, kubelet and crictl): SYN_STREAM → an incoming SpdyStream
// the caller replies to; DATA with FIN; RST_STREAM; PING (echoed); SETTINGS; WINDOW_UPDATE;
// GOAWAY. It never opens streams itself, as kubelet's streaming server never does.
//
// Framing is our own code, not the npm package `spdy-transport` (3.0.0, evaluated for this
// against crictl port-forward): it is an HTTP-over-SPDY server and drops the whole connection on
// spdystream's first SYN_STREAM ("Missing `:method` and/or `:path` header"), as these streams
// carry no HTTP pseudo-headers. Past that, it enforces the SPDY/3.1 send windows strictly (writes
// stop after 64 KiB until a WINDOW_UPDATE) while spdystream never sends WINDOW_UPDATE (it ignores
// flow control frames), so any output over 64 KiB would hang; it writes :status/:version into
// every SYN_REPLY; and it is unmaintained since 2018.
//
// Flow control, both ways:
// - Sending: windows are enforced once the peer shows it keeps them (it sent SETTINGS or a
//   WINDOW_UPDATE); spdystream shows neither, and then the socket's own backpressure (write
//   callbacks wait for 'drain') is what paces us, as it paces kubelet's Go server.
// - Receiving: WINDOW_UPDATEs (stream and session) go out as the stream's consumer reads, so a
//   peer that keeps windows never overruns a stream; a peer that ignores them and fills a stream
//   past its window makes us stop reading the socket until that stream's consumer catches up.
import type { Duplex } from "node:stream";
import { EventEmitter } from "node:events";
import {
  type Frame,
  FrameParser,
  GOAWAY_STATUS,
  RST_STATUS,
  SETTINGS_ID,
  SpdyProtocolError,
  dataFrameHeader,
  encodeFrame,
} from "./frames.js";
import { HeaderCompressor, HeaderDecompressor, type OutgoingHeaders } from "./header-block.js";
import { SpdyStream, type StreamHost } from "./stream.js";

export const DEFAULT_WINDOW = 64 * 1024;
/** Largest DATA payload we send in one frame. */
const MAX_DATA_CHUNK = 128 * 1024;
/** How long close() lets the peer take the last frames before the socket is destroyed. */
const CLOSE_GRACE_MS = 5000;

export interface SpdySessionOptions {
  /** Close the connection after this long without a frame either way; 0 = never. */
  idleTimeoutMs: number;
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
}

export class SpdySession extends EventEmitter<SpdySessionEvents> implements StreamHost {
  private readonly conn: Duplex;
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly abort = new AbortController();
  private lastPeerStreamId = 0;
  private goneAway = false;
  private enforceWindows = false;
  private initialSendWindow = DEFAULT_WINDOW;
  private sessionSendWindow = DEFAULT_WINDOW;
  /** Writers waiting for the socket to drain or a window to open. */
  private waiters: (() => void)[] = [];
  /** Streams whose unread data made us pause the socket. */
  private readonly blocking = new Set<SpdyStream>();
  private idleTimer: NodeJS.Timeout | undefined;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;

  constructor(conn: Duplex, head: Buffer, opts: SpdySessionOptions) {
    super();
    this.conn = conn;
    this.closed = new Promise((resolve) => {
      conn.once("close", () => {
        this.teardown();
        resolve();
      });
    });
    conn.on("error", () => conn.destroy());
    conn.on("drain", () => this.wake());
    conn.on("data", (chunk: Buffer) => this.onBytes(chunk));
    conn.on("end", () => conn.end());
    if (opts.idleTimeoutMs > 0) {
      this.idleTimer = setTimeout(() => void this.close(), opts.idleTimeoutMs);
      this.idleTimer.unref();
    }
    if (head.length > 0) this.onBytes(head);
  }

  /** Aborted when the connection is gone. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get isClosed(): boolean {
    return this.abort.signal.aborted;
  }

  /** Sends GOAWAY (new streams are refused from then on) and closes the connection once the
   *  frames already queued are out; resolves when it is closed. */
  async close(): Promise<void> {
    if (!this.isClosed && !this.goneAway) {
      this.goneAway = true;
      this.write(
        encodeFrame({
          type: "goaway",
          lastGoodStreamId: this.lastPeerStreamId,
          status: GOAWAY_STATUS.OK,
        }),
      );
    }
    if (!this.conn.writableEnded) this.conn.end();
    const timer = setTimeout(() => this.conn.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    await this.closed;
    clearTimeout(timer);
  }

  destroy(): void {
    this.conn.destroy();
  }

  // --- StreamHost ---

  sendReply(stream: SpdyStream, headers: OutgoingHeaders, fin: boolean): void {
    const headerBlock = this.compressor.compress(headers);
    this.write(encodeFrame({ type: "syn_reply", streamId: stream.id, fin, headerBlock }));
    if (fin) this.maybeForget(stream);
  }

  async sendData(stream: SpdyStream, data: Buffer, fin: boolean): Promise<void> {
    let off = 0;
    for (;;) {
      if (this.isClosed || stream.resetStatus !== undefined) throw new Error("SPDY stream closed");
      const left = data.length - off;
      let room = Math.min(MAX_DATA_CHUNK, left);
      if (this.enforceWindows) {
        room = Math.max(0, Math.min(room, stream.sendWindow, this.sessionSendWindow));
      }
      if (room === 0 && left > 0) {
        await this.waitForWake();
        continue;
      }
      const chunk = data.subarray(off, off + room);
      off += room;
      stream.sendWindow -= room;
      this.sessionSendWindow -= room;
      const last = off === data.length;
      // Header and payload go out in one writev, without copying the payload.
      this.conn.cork();
      this.write(dataFrameHeader(stream.id, room, fin && last));
      const ok = this.write(chunk);
      this.conn.uncork();
      // Wait for the socket even after the last frame: that is the writer's backpressure.
      if (!ok) await this.waitForWake();
      if (last) break;
    }
    if (fin) this.maybeForget(stream);
  }

  sendReset(stream: SpdyStream, status: number): void {
    this.write(encodeFrame({ type: "rst_stream", streamId: stream.id, status }));
    this.streams.delete(stream.id);
    this.unblock(stream);
  }

  consumed(stream: SpdyStream, bytes: number): void {
    this.unblock(stream);
    if (this.isClosed) return;
    // Credit at once: the peer's window then never drops below what our buffer can hold.
    if (!stream.remoteClosed) {
      this.write(encodeFrame({ type: "window_update", streamId: stream.id, delta: bytes }));
    }
    this.write(encodeFrame({ type: "window_update", streamId: 0, delta: bytes }));
  }

  // --- wire ---

  private write(buf: Buffer): boolean {
    if (this.isClosed || this.conn.writableEnded) return true;
    this.idleTimer?.refresh();
    return this.conn.write(buf);
  }

  private waitForWake(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  private onBytes(chunk: Buffer): void {
    if (this.isClosed) return;
    this.idleTimer?.refresh();
    try {
      for (const frame of this.parser.push(chunk)) this.onFrame(frame);
    } catch (err: unknown) {
      this.protocolError(err);
    }
  }

  private protocolError(err: unknown): void {
    const status =
      err instanceof SpdyProtocolError
        ? GOAWAY_STATUS.PROTOCOL_ERROR
        : GOAWAY_STATUS.INTERNAL_ERROR;
    if (!this.goneAway) {
      this.goneAway = true;
      this.write(encodeFrame({ type: "goaway", lastGoodStreamId: this.lastPeerStreamId, status }));
    }
    this.conn.end();
    setTimeout(() => this.conn.destroy(), CLOSE_GRACE_MS).unref();
  }

  private onFrame(f: Frame): void {
    switch (f.type) {
      case "data":
        return this.onData(f.streamId, f.data, f.fin);
      case "syn_stream":
        return this.onSynStream(f);
      case "headers": {
        // The block must be inflated even for a stream we forgot: the zlib context is shared.
        const headers = this.decompressor.decompress(f.headerBlock);
        const s = this.streams.get(f.streamId);
        if (!s) return;
        Object.assign(s.headers, headers);
        if (f.fin) this.remoteFin(s);
        return;
      }
      case "syn_reply":
        // We open no streams; still inflate to keep the shared context in step.
        this.decompressor.decompress(f.headerBlock);
        return;
      case "rst_stream": {
        const s = this.streams.get(f.streamId);
        if (!s) return;
        this.streams.delete(s.id);
        this.unblock(s);
        s.gone(f.status);
        return;
      }
      case "settings":
        return this.onSettings(f.entries);
      case "ping":
        // Odd ids are the client's: echo them. Even ones would answer our own pings (none sent).
        if (f.id % 2 === 1) this.write(encodeFrame({ type: "ping", id: f.id }));
        return;
      case "goaway":
        this.goneAway = true;
        return;
      case "window_update":
        return this.onWindowUpdate(f.streamId, f.delta);
      case "unknown":
        return;
    }
  }

  private onSynStream(f: Extract<Frame, { type: "syn_stream" }>): void {
    const headers = this.decompressor.decompress(f.headerBlock);
    if (f.streamId % 2 !== 1 || f.streamId <= this.lastPeerStreamId) {
      throw new SpdyProtocolError(`bad stream id ${f.streamId} in SYN_STREAM`);
    }
    this.lastPeerStreamId = f.streamId;
    if (this.goneAway) {
      this.write(
        encodeFrame({
          type: "rst_stream",
          streamId: f.streamId,
          status: RST_STATUS.REFUSED_STREAM,
        }),
      );
      return;
    }
    const stream = new SpdyStream(this, f.streamId, headers, {
      sendWindow: this.initialSendWindow,
      unidirectional: f.unidirectional,
      highWaterMark: DEFAULT_WINDOW,
    });
    this.streams.set(stream.id, stream);
    if (f.fin) this.remoteFin(stream);
    this.emit("stream", stream);
  }

  private onData(streamId: number, data: Buffer, fin: boolean): void {
    const s = this.streams.get(streamId);
    if (!s) {
      // Data for a stream we reset or never had: credit the session window and drop it.
      if (data.length > 0)
        this.write(encodeFrame({ type: "window_update", streamId: 0, delta: data.length }));
      return;
    }
    if (data.length > 0) {
      s.deliver(data);
      // Past its window the peer is not keeping flow control: hold the socket instead.
      if (s.buffered > DEFAULT_WINDOW && !this.blocking.has(s)) {
        this.blocking.add(s);
        this.conn.pause();
      }
    }
    if (fin) this.remoteFin(s);
  }

  private remoteFin(s: SpdyStream): void {
    s.remoteEnded();
    this.maybeForget(s);
  }

  private onSettings(entries: { id: number; value: number }[]): void {
    this.enforceWindows = true;
    for (const e of entries) {
      if (e.id !== SETTINGS_ID.INITIAL_WINDOW_SIZE) continue;
      const delta = e.value - this.initialSendWindow;
      this.initialSendWindow = e.value;
      for (const s of this.streams.values()) s.sendWindow += delta;
    }
    this.wake();
  }

  private onWindowUpdate(streamId: number, delta: number): void {
    this.enforceWindows = true;
    if (streamId === 0) this.sessionSendWindow += delta;
    else {
      const s = this.streams.get(streamId);
      if (s) s.sendWindow += delta;
    }
    this.wake();
  }

  private unblock(s: SpdyStream): void {
    if (!this.blocking.delete(s)) return;
    if (this.blocking.size === 0 && !this.isClosed) this.conn.resume();
  }

  /** A stream closed both ways needs no entry any more. */
  private maybeForget(s: SpdyStream): void {
    if (s.localClosed && s.remoteClosed) this.streams.delete(s.id);
  }

  private teardown(): void {
    if (this.isClosed) return;
    this.abort.abort(new Error("SPDY connection closed"));
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const s of this.streams.values()) s.gone();
    this.streams.clear();
    this.blocking.clear();
    this.wake();
  }
}
