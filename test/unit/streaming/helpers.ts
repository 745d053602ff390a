// Shared pieces of the streaming tests: a server on a loopback port with a fake runtime, and a
// WebSocket client that records every message by channel.
import { once } from "node:events";
import type { ClientRequest, IncomingMessage } from "node:http";
import WebSocket, { type ClientOptions, type RawData } from "ws";
import { silentLogger } from "../../../src/log.js";
import { StreamingServer, type StreamingServerOptions } from "../../../src/streaming/server.js";
import type { ServeSpdyPortForward, ServeSpdyRemoteCommand } from "../../../src/streaming/types.js";
import { FakeStreamingRuntime } from "../../support/fake-streaming-runtime.js";

export const notSpdy: {
  remoteCommand: ServeSpdyRemoteCommand;
  portForward: ServeSpdyPortForward;
} = {
  remoteCommand: async (conn) => {
    conn.destroy();
    throw new Error("SPDY is not part of this test");
  },
  portForward: async (conn) => {
    conn.destroy();
    throw new Error("SPDY is not part of this test");
  },
};

export interface Observed {
  started: string[];
  ended: string[];
}

export interface Harness {
  server: StreamingServer;
  runtime: FakeStreamingRuntime;
  observed: Observed;
  port: number;
}

export async function startServer(
  overrides: Partial<StreamingServerOptions> = {},
  runtime = new FakeStreamingRuntime(),
): Promise<Harness> {
  const observed: Observed = { started: [], ended: [] };
  const server = new StreamingServer({
    address: "127.0.0.1:0",
    runtime,
    spdy: notSpdy,
    limits: { streamCreationTimeoutMs: 30_000, idleTimeoutMs: 0 },
    maxSessions: 100,
    log: silentLogger(),
    observe: {
      started: (k) => observed.started.push(k),
      ended: (k, r) => observed.ended.push(`${k}:${r}`),
    },
    ...overrides,
  });
  const { port } = await server.listen();
  return { server, runtime, observed, port };
}

export interface Message {
  channel: number;
  data: Buffer;
  /** Text frame (the base64 protocols). */
  text: boolean;
}

/** A connected client: every message it got, decoded per the negotiated protocol. */
export class Client {
  private readonly raw: { buf: Buffer; isBinary: boolean }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    // Recorded raw: the first message can arrive with the handshake, before 'open' resolves.
    ws.on("message", (raw: RawData, isBinary: boolean) => {
      const buf = Buffer.isBuffer(raw) ? raw : Buffer.concat(raw as Buffer[]);
      this.raw.push({ buf, isBinary });
    });
    this.closed = new Promise((resolve) => {
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  get messages(): Message[] {
    const base64 = this.protocol.includes("base64.");
    return this.raw
      .filter((m) => m.buf.length > 0)
      .map(({ buf, isBinary }) =>
        base64
          ? {
              channel: buf[0]! - 0x30,
              data: Buffer.from(buf.subarray(1).toString(), "base64"),
              text: !isBinary,
            }
          : { channel: buf[0]!, data: buf.subarray(1), text: !isBinary },
      );
  }

  static async connect(
    url: string,
    protocols: string[] | undefined,
    options: ClientOptions = {},
  ): Promise<Client> {
    const ws = new WebSocket(url.replace(/^http/, "ws"), protocols ?? [], options);
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (req: ClientRequest, res: IncomingMessage) => {
        res.resume();
        req.destroy();
        reject(new Error(`HTTP ${res.statusCode}`));
      });
    });
    ws.on("error", () => undefined);
    return client;
  }

  /** Sends `data` on a channel in the negotiated framing. */
  send(channel: number, data: Buffer | string): void {
    const buf = Buffer.from(data);
    if (this.protocol.includes("base64.")) {
      this.ws.send(String.fromCharCode(0x30 + channel) + buf.toString("base64"));
    } else {
      this.ws.send(Buffer.concat([Buffer.from([channel]), buf]), { binary: true });
    }
  }

  /** Everything received on a channel, concatenated. */
  channel(n: number): Buffer {
    return Buffer.concat(this.messages.filter((m) => m.channel === n).map((m) => m.data));
  }

  text(n: number): string {
    return this.channel(n).toString();
  }

  /** Waits until some message satisfies `pred` (or the connection closes). */
  async waitFor(pred: (m: Message) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.messages.some(pred)) {
      if (Date.now() > deadline) throw new Error("timed out waiting for a message");
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error("closed before the message");
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Status of an HTTP request answered without an upgrade. */
export async function httpStatus(
  url: string,
  method: string,
  headers: Record<string, string> = {},
): Promise<number> {
  const res = await fetch(url, { method, headers });
  await res.arrayBuffer();
  return res.status;
}

/** Polls until `cond` holds. */
export async function eventually(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

export { once };
