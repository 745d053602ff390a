// Raw HTTP/1.1 on a socket for the streaming server tests: requests with SPDY upgrade headers
// (which fetch refuses to send), the answer's head, and a stand-in SPDY server.
import { once } from "node:events";
import * as net from "node:net";
import { PassThrough } from "node:stream";
import type * as tls from "node:tls";
import type {
  RemoteCommandRequest,
  ServeSpdyRemoteCommand,
  SessionLimits,
} from "../../../src/streaming/types.js";

export const echoReq: Extract<RemoteCommandRequest, { kind: "exec" }> = {
  kind: "exec",
  containerId: "c1",
  cmd: ["echo", "over", "spdy"],
  tty: false,
  stdin: false,
  stdout: true,
  stderr: false,
};
export const sleepReq: Extract<RemoteCommandRequest, { kind: "exec" }> = {
  ...echoReq,
  cmd: ["sleep"],
};

export interface RawAnswer {
  status: number;
  headers: [string, string][];
  rest: Buffer;
  socket: net.Socket | tls.TLSSocket;
}

/** Sends a raw HTTP request (plus `extra` bytes right after it) and reads the answer's head. */
export async function rawRequest(
  port: number,
  lines: string[],
  extra = "",
  connect: () => net.Socket | tls.TLSSocket = () => net.connect(port, "127.0.0.1"),
): Promise<RawAnswer> {
  const socket = connect();
  socket.on("error", () => undefined);
  socket.write(`${lines.join("\r\n")}\r\n\r\n${extra}`);
  let buf = Buffer.alloc(0);
  for (;;) {
    const end = buf.indexOf("\r\n\r\n");
    if (end >= 0) {
      const [statusLine, ...headerLines] = buf.subarray(0, end).toString().split("\r\n");
      const headers = headerLines.map((l): [string, string] => {
        const i = l.indexOf(":");
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
      });
      socket.pause();
      return {
        status: Number(statusLine!.split(" ")[1]),
        headers,
        rest: buf.subarray(end + 4),
        socket,
      };
    }
    const [chunk] = (await once(socket, "data")) as [Buffer];
    buf = Buffer.concat([buf, chunk]);
  }
}

/** Everything the socket sends until it closes. */
export async function readToEnd(a: RawAnswer): Promise<string> {
  const chunks = [a.rest];
  a.socket.on("data", (c: Buffer) => chunks.push(c));
  a.socket.resume();
  await once(a.socket, "close");
  return Buffer.concat(chunks).toString();
}

export function pathOf(url: string): string {
  return new URL(url).pathname;
}

export function spdyLines(method: string, url: string, protocols: string[]): string[] {
  return [
    `${method} ${pathOf(url)} HTTP/1.1`,
    "Host: streaming",
    "Connection: Upgrade",
    "Upgrade: SPDY/3.1",
    ...protocols.map((p) => `X-Stream-Protocol-Version: ${p}`),
  ];
}

/** A stand-in SPDY server: records its calls, runs the session with plain streams and writes
 *  what they carried on the raw connection. */
export function fakeSpdy() {
  const calls: { head: string; protocol: string; limits: SessionLimits }[] = [];
  const remoteCommand: ServeSpdyRemoteCommand = async (conn, head, req, protocol, run, limits) => {
    calls.push({ head: head.toString(), protocol, limits });
    const stdout = new PassThrough();
    const error = new PassThrough();
    stdout.on("data", (d: Buffer) => conn.write(`OUT:${d.toString()}`));
    error.on("data", (d: Buffer) => conn.write(`ERR:${d.toString()}`));
    const ac = new AbortController();
    conn.once("close", () => ac.abort());
    await run(req, { protocol, stdout, error, signal: ac.signal });
    conn.end();
    if (!conn.destroyed) await once(conn, "close");
  };
  return { calls, remoteCommand };
}
