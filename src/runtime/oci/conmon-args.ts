// conmon's command line, built in one place, and the message conmon sends back on its sync pipe.
// Facts from conmon 2.1.6 (src/cli.c, src/conmon.c, src/parent_pipe_fd.c):
// - conmon forks twice unless `--sync`: the process we start writes the `-P` pid file and exits 0;
//   the grandchild calls setsid(), becomes a subreaper, runs `<runtime> create`, writes
//   `<exit-dir>/<cid>` and `<persist-dir>/exit` (decimal status) when the container exits, and
//   `<persist-dir>/oom` (plus `oom` in its cwd) when the cgroup reports an OOM kill.
// - `_OCI_STARTPIPE=<fd>`: conmon blocks reading one message before it forks (time for the parent
//   to move it into a cgroup). `_OCI_SYNCPIPE=<fd>`: it writes one JSON line, `{"data": <pid>}`
//   with `--api-version` (`{"pid": ...}` without), or `{"data": -1, "message": "<runtime stderr>"}`
//   when create failed.
// - `-l k8s-file:<path>`: CRI log lines; the path is split on ':' so it must not contain one.
// - `<bundle>/ctl` is a FIFO of "<type> <a> <b>\n" lines: 1 = resize (a=height, b=width),
//   2 = reopen the log file.
import { InvalidArgumentError } from "../../errors.js";

export type ConmonLogLevel = "error" | "warn" | "info" | "debug" | "trace";

export interface ConmonOptions {
  /** Container id: `--cid` and `--cuuid`, the exit file's name, the runtime's container id. */
  id: string;
  /** `--name`, only used in conmon's own log messages; defaults to the id. */
  name?: string;
  /** Bundle directory (`--bundle`); conmon runs in it and puts its `ctl` FIFO there. */
  bundle: string;
  /** OCI runtime binary (`--runtime`). */
  runtimePath: string;
  /** The handler's `--root`, passed through `--runtime-arg`. */
  runtimeRoot: string;
  systemdCgroup?: boolean;
  /** Container log in CRI format (`--log-path k8s-file:<path>`). */
  logPath: string;
  /** Rotate inside conmon past this many bytes (`--log-size-max`); kubelet rotates otherwise. */
  logSizeMax?: bigint;
  /** Directory where `<id>` is written with the exit status (`--exit-dir`). */
  exitDir: string;
  /** Per-container directory for `exit` and `oom` (`--persist-dir`). */
  persistDir: string;
  /** Where the runtime writes the container's init pid (`--container-pidfile`). */
  containerPidFile: string;
  /** Where conmon writes its own (daemonized) pid (`--conmon-pidfile`). */
  conmonPidFile: string;
  /** conmon makes `<socketDir>/<id>` → bundle, holding its `attach` socket (`--socket-dir-path`). */
  socketDir: string;
  terminal?: boolean;
  /** Keep a stdin pipe for attach (`--stdin`). */
  stdin?: boolean;
  /** With stdin: close it after the first attach ends (kubelet's stdin_once); else `--leave-stdin-open`. */
  stdinOnce?: boolean;
  logLevel?: ConmonLogLevel;
  /** Send conmon's own messages to syslog as well. */
  syslog?: boolean;
  noPivot?: boolean;
  /** The runtime logs to this file as JSON (`--log`, `--log-format json`) instead of stderr. */
  runtimeLogPath?: string;
}

/** The arguments after the conmon binary, in one list. */
export function conmonArgs(o: ConmonOptions): string[] {
  if (o.id === "" || o.id.includes("/"))
    throw new InvalidArgumentError("id", "invalid container id");
  if (o.logPath === "" || o.logPath.includes(":")) {
    // conmon splits `--log-path` on ':' (driver:path), so a colon would silently cut the path.
    throw new InvalidArgumentError(
      "log_path",
      `must be non-empty and contain no ':': ${o.logPath}`,
    );
  }
  const args = [
    "--api-version",
    "--cid",
    o.id,
    "--cuuid",
    o.id,
    "--name",
    o.name ?? o.id,
    "--bundle",
    o.bundle,
    "--runtime",
    o.runtimePath,
    "--runtime-arg",
    `--root=${o.runtimeRoot}`,
    ...(o.runtimeLogPath !== undefined
      ? ["--runtime-arg", `--log=${o.runtimeLogPath}`, "--runtime-arg", "--log-format=json"]
      : []),
    "--log-path",
    `k8s-file:${o.logPath}`,
    "--exit-dir",
    o.exitDir,
    "--persist-dir",
    o.persistDir,
    "--container-pidfile",
    o.containerPidFile,
    "--conmon-pidfile",
    o.conmonPidFile,
    "--socket-dir-path",
    o.socketDir,
    "--log-level",
    o.logLevel ?? "warn",
  ];
  if (o.logSizeMax !== undefined && o.logSizeMax > 0n) {
    args.push("--log-size-max", o.logSizeMax.toString());
  }
  if (o.systemdCgroup) args.push("--systemd-cgroup");
  if (o.syslog) args.push("--syslog");
  if (o.noPivot) args.push("--no-pivot");
  if (o.terminal) {
    args.push("--terminal");
  } else if (o.stdin) {
    args.push("--stdin");
    if (!o.stdinOnce) args.push("--leave-stdin-open");
  }
  return args;
}

export type SyncMessage = { ok: true; pid: number } | { ok: false; message: string };

/** Parses the first JSON line conmon wrote to the sync pipe. */
export function parseSyncMessage(line: string): SyncMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, message: `conmon sent an unreadable sync message: ${line.slice(0, 200)}` };
  }
  if (typeof raw !== "object" || raw === null) {
    return { ok: false, message: "conmon sent a sync message that is not an object" };
  }
  const rec = raw as Record<string, unknown>;
  const value = rec.data ?? rec.pid;
  const message = typeof rec.message === "string" ? rec.message.trim() : "";
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    return { ok: false, message: message || "conmon sent a sync message without a pid" };
  }
  if (value <= 0) return { ok: false, message: message || "container create failed" };
  return { ok: true, pid: value };
}

/** A line for conmon's `ctl` FIFO. */
export function ctlMessage(kind: "resize" | "reopen-log", height = 0, width = 0): string {
  return `${kind === "resize" ? 1 : 2} ${Math.trunc(height)} ${Math.trunc(width)}\n`;
}
