// The HTTP edges of the streaming server: which URL names which session, the ports a WebSocket
// port-forward asks for, and plain answers written on a socket that was offered an upgrade
// (after an 'upgrade' event Node leaves the response to us).
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { StreamRequest } from "./types.js";

export type StreamKind = StreamRequest["kind"];

const ROUTE = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)\/?$/;

export interface Route {
  kind: StreamKind;
  token: string;
  query: URLSearchParams;
}

/** `/exec/TOKEN`, `/attach/TOKEN`, `/portforward/TOKEN` (any query); undefined otherwise. */
export function parseRoute(rawUrl: string | undefined): Route | undefined {
  if (!rawUrl) return undefined;
  let url: URL;
  try {
    url = new URL(rawUrl, "http://streaming.invalid");
  } catch {
    return undefined;
  }
  const m = ROUTE.exec(url.pathname);
  if (!m) return undefined;
  return { kind: m[1] as StreamKind, token: m[2]!, query: url.searchParams };
}

/** Ports from `?port=` (repeated and/or comma-separated, as kubelet's NewV4Options reads them). */
export function queryPorts(query: URLSearchParams): number[] | string {
  const ports: number[] = [];
  for (const value of query.getAll("port")) {
    if (value === "") return `query parameter "port" cannot be empty`;
    for (const p of value.split(",")) {
      const n = /^\d+$/.test(p) ? Number(p) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > 65535) return `unable to parse "${p}" as a port`;
      ports.push(n);
    }
  }
  return ports;
}

/** Writes a complete non-101 answer on a raw upgrade socket and closes it. */
export function replyOnSocket(
  socket: Duplex,
  status: number,
  message: string,
  headers: [string, string][] = [],
): void {
  if (socket.destroyed) return;
  const body = `${message}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`,
    "Content-Type: text/plain; charset=utf-8",
    "X-Content-Type-Options: nosniff",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    ...headers.map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
  // A client that never reads its answer must not keep the socket.
  setTimeout(() => socket.destroy(), 5000).unref();
}

/** The 101 answer for SPDY/3.1 with the negotiated X-Stream-Protocol-Version. */
export function spdySwitchingProtocols(protocol: string): string {
  return [
    "HTTP/1.1 101 Switching Protocols",
    "Connection: Upgrade",
    "Upgrade: SPDY/3.1",
    `X-Stream-Protocol-Version: ${protocol}`,
    "",
    "",
  ].join("\r\n");
}
