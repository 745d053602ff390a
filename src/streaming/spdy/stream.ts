// One SPDY stream opened by the client, as a Duplex: readable = the client's DATA (ends on its
// FIN), writable = our DATA (end() sends FIN). The session owns the wire; the stream only asks
// it to send and tells it how much of the client's data has been consumed.
import { Duplex } from "node:stream";
import type { OutgoingHeaders, SpdyHeaders } from "./header-block.js";
import { RST_STATUS } from "./frames.js";

/** What a stream needs from its session. */
export interface StreamHost {
  sendReply(stream: SpdyStream, headers: OutgoingHeaders, fin: boolean): void;
  /** Sends as much of `data` as the windows allow; resolves once all of it is on the socket. */
  sendData(stream: SpdyStream, data: Buffer, fin: boolean): Promise<void>;
  sendReset(stream: SpdyStream, status: number): void;
  /** The consumer took `bytes` out of the stream's buffer. */
  consumed(stream: SpdyStream, bytes: number): void;
}

export class SpdyStream extends Duplex {
  readonly id: number;
  /** The SYN_STREAM headers, names lower-case. */
  readonly headers: SpdyHeaders;
  replied = false;
  /** Set once a RST_STREAM went either way. */
  resetStatus: number | undefined;
  /** The client sent FIN (or the stream is gone). */
  remoteClosed = false;
  /** We sent FIN, or the stream is unidirectional from the client. */
  localClosed: boolean;
  /** Send window (SPDY/3.1 flow control), kept by the session. */
  sendWindow: number;
  private pushedBytes = 0;
  private creditedBytes = 0;
  private readonly host: StreamHost;

  constructor(
    host: StreamHost,
    id: number,
    headers: SpdyHeaders,
    opts: { sendWindow: number; unidirectional: boolean; highWaterMark: number },
  ) {
    super({ allowHalfOpen: true, highWaterMark: opts.highWaterMark });
    this.host = host;
    this.id = id;
    this.headers = headers;
    this.sendWindow = opts.sendWindow;
    this.localClosed = opts.unidirectional;
    this.once("end", () => this.credit());
  }

  /** Sends SYN_REPLY (once); `fin` closes our side at once. */
  reply(headers: OutgoingHeaders = {}, fin = false): void {
    if (this.replied || this.resetStatus !== undefined) return;
    this.replied = true;
    if (fin) this.localClosed = true;
    this.host.sendReply(this, headers, fin);
    if (fin) this.end();
  }

  /** Sends RST_STREAM and drops the stream (default CANCEL, as spdystream's Reset). */
  reset(status: number = RST_STATUS.CANCEL): void {
    if (this.resetStatus !== undefined) return;
    this.resetStatus = status;
    this.host.sendReset(this, status);
    this.gone();
  }

  /** The session tells us the stream is over (peer RST, connection closed). Never an error
   *  event: users of these streams may not listen for one, and a reset is not a crash. */
  gone(status?: number): void {
    if (status !== undefined && this.resetStatus === undefined) this.resetStatus = status;
    this.remoteEnded();
    this.localClosed = true;
    this.destroy();
  }

  /** Client data for this stream; false when the buffer is over its high-water mark. */
  deliver(data: Buffer): boolean {
    if (this.remoteClosed) return true;
    this.pushedBytes += data.length;
    return this.push(data);
  }

  remoteEnded(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.push(null);
  }

  /** Bytes delivered but still waiting in our buffer. */
  get buffered(): number {
    return this.readableLength;
  }

  override _read(): void {
    this.credit();
  }

  /**
   * Credits after every read as well. Node calls _read only while no earlier _read is pending,
   * and only a push ends one; a consumer that takes the last bytes of a peer that has stopped
   * sending would leave them uncredited, and a session paused for this stream paused for good
   * (with every other stream of the connection stalled behind it).
   */
  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    this.credit();
    return chunk;
  }

  /** Reports what left the buffer since last time (also at 'end', when _read is no more). */
  private credit(): void {
    const consumed = this.pushedBytes - this.readableLength - this.creditedBytes;
    if (consumed > 0) {
      this.creditedBytes += consumed;
      this.host.consumed(this, consumed);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.localClosed || this.resetStatus !== undefined) {
      cb(new Error(`SPDY stream ${this.id} is closed for writing`));
      return;
    }
    if (!this.replied) this.reply();
    this.host.sendData(this, chunk, false).then(() => cb(), cb);
  }

  /** Destroyed by its user before both sides closed: tell the client, as spdystream's Reset. */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.resetStatus === undefined && !(this.localClosed && this.remoteClosed)) {
      this.resetStatus = RST_STATUS.CANCEL;
      this.host.sendReset(this, RST_STATUS.CANCEL);
    }
    cb(err);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.localClosed || this.resetStatus !== undefined) {
      cb();
      return;
    }
    if (!this.replied) this.reply();
    this.localClosed = true;
    this.host.sendData(this, Buffer.alloc(0), true).then(() => cb(), cb);
  }
}
