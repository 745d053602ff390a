// A small SPDY/3.1 client for unit tests, built on berth's frame codec and its own zlib contexts:
// it opens streams as spdystream does (odd ids, SYN_STREAM with headers), sends any frame, and
// records every frame the server sends, with header blocks decoded in wire order.
import { once } from "node:events";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { type Frame, FrameParser, encodeFrame } from "../../src/streaming/spdy/frames.js";
import {
  HeaderCompressor,
  HeaderDecompressor,
  type OutgoingHeaders,
  type SpdyHeaders,
} from "../../src/streaming/spdy/header-block.js";

export interface Received {
  frame: Frame;
  /** Decoded header block of SYN_REPLY / HEADERS / SYN_STREAM frames. */
  headers?: SpdyHeaders;
}

export class SpdyTestClient {
  readonly received: Received[] = [];
  /** Send WINDOW_UPDATEs for the data received, as a client that keeps flow control would. */
  autoWindowUpdate = false;
  closed = false;
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private nextId = 1;
  private listeners: (() => void)[] = [];

  constructor(readonly sock: net.Socket) {
    sock.on("data", (chunk: Buffer) => {
      for (const frame of this.parser.push(chunk)) this.onFrame(frame);
      this.notify();
    });
    sock.on("close", () => {
      this.closed = true;
      this.notify();
    });
    sock.on("error", () => undefined);
  }

  /** A TCP pair on 127.0.0.1: `serve` gets the server end, the client the other. */
  static async connect(
    serve: (conn: Duplex, head: Buffer) => Promise<void>,
  ): Promise<{ client: SpdyTestClient; served: Promise<void> }> {
    const server = net.createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const accepted = once(server, "connection") as Promise<[net.Socket]>;
    const sock = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    const [conn] = await accepted;
    server.close();
    await once(sock, "connect").catch(() => undefined);
    return { client: new SpdyTestClient(sock), served: serve(conn, Buffer.alloc(0)) };
  }

  private onFrame(frame: Frame): void {
    const r: Received = { frame };
    if (frame.type === "syn_reply" || frame.type === "headers" || frame.type === "syn_stream") {
      r.headers = this.decompressor.decompress(frame.headerBlock);
    }
    if (this.autoWindowUpdate && frame.type === "data" && frame.data.length > 0) {
      this.send({ type: "window_update", streamId: frame.streamId, delta: frame.data.length });
      this.send({ type: "window_update", streamId: 0, delta: frame.data.length });
    }
    this.received.push(r);
  }

  private notify(): void {
    const ls = this.listeners;
    this.listeners = [];
    for (const l of ls) l();
  }

  send(frame: Frame): void {
    if (!this.sock.destroyed) this.sock.write(encodeFrame(frame));
  }

  open(headers: OutgoingHeaders, opts: { fin?: boolean; id?: number } = {}): number {
    const streamId = opts.id ?? this.nextId;
    this.nextId = streamId + 2;
    const headerBlock = this.compressor.compress(headers);
    this.send({
      type: "syn_stream",
      streamId,
      associatedId: 0,
      priority: 0,
      fin: !!opts.fin,
      unidirectional: false,
      headerBlock,
    });
    return streamId;
  }

  data(streamId: number, data: Buffer | string, fin = false): void {
    this.send({ type: "data", streamId, fin, data: Buffer.from(data) });
  }

  /** Frames of a type (optionally for one stream). */
  frames<T extends Frame["type"]>(type: T, streamId?: number): Extract<Frame, { type: T }>[] {
    return this.received
      .map((r) => r.frame)
      .filter((f): f is Extract<Frame, { type: T }> => f.type === type)
      .filter((f) => streamId === undefined || ("streamId" in f && f.streamId === streamId));
  }

  /** All DATA received on a stream so far. */
  dataOf(streamId: number): Buffer {
    return Buffer.concat(this.frames("data", streamId).map((f) => f.data));
  }

  finished(streamId: number): boolean {
    return (
      this.frames("data", streamId).some((f) => f.fin) ||
      this.frames("syn_reply", streamId).some((f) => f.fin)
    );
  }

  replied(streamId: number): boolean {
    return this.frames("syn_reply", streamId).length > 0;
  }

  /** Resolves once `cond` holds, checked after every batch of frames. */
  async until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.sock.destroy();
  }
}
