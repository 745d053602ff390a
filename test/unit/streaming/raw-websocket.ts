// A bare WebSocket client for the one subprotocol the `ws` client will not offer: client-go's
// "SPDY/3.1+portforward.k8s.io" is not an RFC 7230 token. Enough of RFC 6455 for the tests:
// the handshake, masked binary frames out, unfragmented frames in, close.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import * as net from "node:net";

export interface RawFrame {
  opcode: number;
  payload: Buffer;
}

export class RawWebSocket {
  readonly frames: RawFrame[] = [];
  readonly closed: Promise<void>;
  private buf = Buffer.alloc(0);

  private constructor(
    readonly socket: net.Socket,
    readonly protocol: string,
    rest: Buffer,
  ) {
    socket.on("data", (c: Buffer) => this.receive(c));
    this.closed = once(socket, "close").then(() => undefined);
    this.receive(rest);
  }

  static async connect(port: number, path: string, protocol: string): Promise<RawWebSocket> {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write(
      [
        `GET ${path} HTTP/1.1`,
        "Host: 127.0.0.1",
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
        `Sec-WebSocket-Protocol: ${protocol}`,
        "",
        "",
      ].join("\r\n"),
    );
    let buf = Buffer.alloc(0);
    while (buf.indexOf("\r\n\r\n") < 0) {
      const [chunk] = (await once(socket, "data")) as [Buffer];
      buf = Buffer.concat([buf, chunk]);
    }
    const end = buf.indexOf("\r\n\r\n");
    const head = buf.subarray(0, end).toString();
    const status = head.split(" ")[1];
    if (status !== "101") {
      socket.destroy();
      throw new Error(`HTTP ${status}`);
    }
    const chosen = /^sec-websocket-protocol:\s*(.*)$/im.exec(head)?.[1]?.trim() ?? "";
    socket.pause();
    const ws = new RawWebSocket(socket, chosen, buf.subarray(end + 4));
    socket.resume();
    return ws;
  }

  /** One masked frame (opcode 2 = binary, 8 = close). */
  send(payload: Buffer, opcode = 2): void {
    const mask = randomBytes(4);
    const len = payload.length;
    const header =
      len < 126
        ? Buffer.from([0x80 | opcode, 0x80 | len])
        : len < 65536
          ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff])
          : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), u64(len)]);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i % 4]!;
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  close(): void {
    this.send(Buffer.from([0x03, 0xe8]), 8);
  }

  /** Binary payloads received so far, concatenated. */
  binary(): Buffer {
    return Buffer.concat(this.frames.filter((f) => f.opcode === 2).map((f) => f.payload));
  }

  private receive(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      this.frames.push({ opcode, payload: this.buf.subarray(off, off + len) });
      this.buf = this.buf.subarray(off + len);
      if (opcode === 8) this.socket.end();
    }
  }
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
