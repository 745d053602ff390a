// A SOCK_SEQPACKET server standing in for conmon's attach socket, on the same native addon the
// client uses: records what clients send and lets the test send packets and close them.
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";

interface Wrap {
  init(self: object): void;
  listen(path: string, backlog: number): void;
  startRecv(): void;
  write(buf: Buffer, offset: number, length: number, cb?: () => void): void;
  close(): void;
}
type WrapCtor = new (ee: EventEmitter, fd?: number) => Wrap;

const { SeqpacketSocketWrap } = createRequire(__filename)("node-unix-socket-linux-x64-gnu") as {
  SeqpacketSocketWrap: WrapCtor;
};

export class ServerConn {
  readonly packets: Buffer[] = [];
  ended = false;
  readonly events = new EventEmitter();
  constructor(private readonly wrap: Wrap) {}
  send(buf: Buffer): void {
    this.wrap.write(buf, 0, buf.length);
  }
  close(): void {
    this.wrap.close();
  }
}

export class FakeAttachServer {
  private readonly wrap: Wrap;
  readonly conns: ServerConn[] = [];
  readonly events = new EventEmitter();

  constructor(path: string) {
    const ee = new EventEmitter();
    ee.emit = ee.emit.bind(ee);
    this.wrap = new SeqpacketSocketWrap(ee);
    this.wrap.init(this.wrap);
    ee.on("_connection", (fd: number) => {
      const cee = new EventEmitter();
      cee.emit = cee.emit.bind(cee);
      const w = new SeqpacketSocketWrap(cee, fd);
      w.init(w);
      w.startRecv();
      const conn = new ServerConn(w);
      cee.on("_data", (b: Buffer) => {
        conn.packets.push(Buffer.from(b));
        conn.events.emit("packet");
      });
      cee.on("end", () => {
        conn.ended = true;
        conn.events.emit("end");
      });
      this.conns.push(conn);
      this.events.emit("connection", conn);
    });
    this.wrap.listen(path, 16);
  }

  nextConnection(): Promise<ServerConn> {
    return new Promise((resolve) => this.events.once("connection", resolve));
  }

  close(): void {
    for (const c of this.conns) c.close();
    this.wrap.close();
  }
}
