// Port-forwarding one connection to TCP on 127.0.0.1 in a pod. Node cannot enter another network
// namespace, so for a pod with its own netns a small program does the connecting per connection:
// `nsenter --net=<netns file> socat TCP4:127.0.0.1:<port> UNIX-CONNECT:<our socket>`. socat
// connects to the pod's port first (so a refused port fails before anything is accepted), then to
// a unix socket berth listens on for this one connection; berth pipes the client's stream to the
// socket it accepts. A unix socket rather than socat's stdio because socat can only shut down the
// write side of a socket: with pipes it keeps its stdout open after the server closed, and the
// client would never see the end of the connection. A host-network pod's loopback is the host's,
// which Node reaches directly.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import * as net from "node:net";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import { UnavailableError, errorMessage, isErrno } from "../../errors.js";

export interface ForwardTarget {
  podSandboxId: string;
  port: number;
  /** The pod's network namespace file; undefined for a host-network pod. */
  netnsPath: string | undefined;
  nsenterPath: string;
  socatPath: string;
  /** A directory for the per-connection unix socket (short: socket paths are limited). */
  socketDir: string;
}

/**
 * socat's transfer block (its default is 8 KiB): larger blocks mean fewer reads and writes per
 * byte, which is most of what forwarding costs.
 */
const SOCAT_BLOCK = 512 * 1024;
/**
 * After one direction reaches EOF socat shuts down the other's write side and, by default, exits
 * 0.5 s later. Half-closed connections (a client that ends its side and waits for the answer)
 * need the other direction to run to its end, so the wait is made longer than any session.
 */
const SOCAT_HALF_CLOSE_WAIT_S = 7 * 24 * 3600;

function refused(t: ForwardTarget): UnavailableError {
  return new UnavailableError(`connection refused to 127.0.0.1:${t.port} in pod ${t.podSandboxId}`);
}

const swallow = (): void => undefined;

export function forwardPort(t: ForwardTarget, conn: Duplex, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return t.netnsPath === undefined
    ? forwardOnHost(t, conn, signal)
    : forwardInNetns(t, t.netnsPath, conn, signal);
}

async function listenOnce(socketDir: string): Promise<{ server: net.Server; file: string }> {
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  const file = path.join(socketDir, `pf-${randomBytes(8).toString("hex")}.sock`);
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(file, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, file };
}

async function forwardInNetns(
  t: ForwardTarget,
  netnsPath: string,
  conn: Duplex,
  signal: AbortSignal,
): Promise<void> {
  const { server, file } = await listenOnce(t.socketDir);
  try {
    await new Promise<void>((resolve, reject) => {
      // nsenter execs socat in place, so the child's pid is socat's.
      const child = spawn(
        t.nsenterPath,
        [
          `--net=${netnsPath}`,
          t.socatPath,
          "-b",
          String(SOCAT_BLOCK),
          "-t",
          String(SOCAT_HALF_CLOSE_WAIT_S),
          `TCP4:127.0.0.1:${t.port}`,
          `UNIX-CONNECT:${file}`,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      let stopped = false;
      let upstream: net.Socket | undefined;
      child.stderr.on("data", (c: Buffer) => {
        if (stderr.length < 4096) stderr += c.toString("utf8");
      });
      conn.on("error", swallow);
      server.once("connection", (sock) => {
        server.close();
        upstream = sock;
        sock.on("error", swallow);
        conn.pipe(sock);
        sock.pipe(conn); // ends our side of conn when the server ends its side
      });

      const stop = (): void => {
        stopped = true;
        child.kill("SIGKILL");
        upstream?.destroy();
      };
      // The client went away entirely: nothing can be delivered any more.
      const onConnClose = (): void => {
        if (child.exitCode === null && child.signalCode === null) stop();
      };
      conn.once("close", onConnClose);
      signal.addEventListener("abort", stop, { once: true });

      child.once("error", (err) => {
        cleanup();
        reject(new UnavailableError(`cannot run ${t.nsenterPath}: ${err.message}`));
      });
      child.once("close", (code) => {
        // socat is done, but what it wrote to the unix socket may still be on its way to conn.
        if (code === 0 && !stopped && upstream && !upstream.closed) {
          upstream.once("close", () => {
            cleanup();
            resolve();
          });
          return;
        }
        cleanup();
        if (code === 0 || stopped) return resolve();
        if (/connection refused/i.test(stderr)) return reject(refused(t));
        const why = stderr.trim().replace(/^.*? E /m, "") || `socat exit status ${String(code)}`;
        reject(
          new UnavailableError(
            `port-forward to 127.0.0.1:${t.port} in pod ${t.podSandboxId} failed: ${why}`,
          ),
        );
      });
      function cleanup(): void {
        signal.removeEventListener("abort", stop);
        conn.off("close", onConnClose);
        if (upstream) {
          conn.unpipe(upstream);
          upstream.unpipe(conn);
        }
        conn.off("error", swallow);
      }
    });
  } finally {
    server.close();
    await rm(file, { force: true });
  }
}

function forwardOnHost(t: ForwardTarget, conn: Duplex, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: the server's end must not end our side; the client decides that.
    const sock = net.connect({ host: "127.0.0.1", port: t.port, allowHalfOpen: true });
    let connected = false;
    let stopped = false;
    conn.on("error", swallow);
    const stop = (): void => {
      stopped = true;
      sock.destroy();
    };
    const onConnClose = (): void => {
      if (!sock.destroyed) stop();
    };
    signal.addEventListener("abort", stop, { once: true });
    sock.once("connect", () => {
      connected = true;
      conn.pipe(sock);
      sock.pipe(conn);
      conn.once("close", onConnClose);
    });
    let failure: Error | undefined;
    sock.once("error", (err) => {
      failure = err;
    });
    sock.once("close", () => {
      signal.removeEventListener("abort", stop);
      conn.off("close", onConnClose);
      conn.unpipe(sock);
      sock.unpipe(conn);
      conn.off("error", swallow);
      if (stopped || !failure) return resolve();
      if (!connected && isErrno(failure, "ECONNREFUSED")) return reject(refused(t));
      reject(
        new UnavailableError(
          `port-forward to 127.0.0.1:${t.port} in pod ${t.podSandboxId} failed: ${errorMessage(failure)}`,
        ),
      );
    });
  });
}
