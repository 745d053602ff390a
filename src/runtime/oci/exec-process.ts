// The process.json handed to `<runtime> exec --process`. As CRI-O does, an exec inherits the
// container's own process (capabilities, rlimits, apparmor, no_new_privs, env, user, cwd) and
// replaces only what the request names: the runtime does not merge anything for us.
import { InvalidArgumentError } from "../../errors.js";

export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface ExecRequest {
  args: string[];
  /** `KEY=value` entries; they override the container's variables of the same name. */
  env?: string[];
  cwd?: string;
  user?: ExecUser;
}

/** A process object as config.json holds it; unknown fields pass through untouched. */
export type ProcessJson = Record<string, unknown>;

function envKey(entry: string): string {
  const eq = entry.indexOf("=");
  return eq < 0 ? entry : entry.slice(0, eq);
}

/** Overlays `extra` on `base`; later names win, order of first appearance kept. */
export function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const e of [...base, ...extra]) byKey.set(envKey(e), e);
  return [...byKey.values()];
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** Builds the exec process from the container's process (from its config.json) and a request. */
export function buildExecProcess(base: ProcessJson | undefined, req: ExecRequest): ProcessJson {
  if (req.args.length === 0 || req.args[0] === "") {
    throw new InvalidArgumentError("cmd", "must name a command");
  }
  const from = base ?? {};
  const out: ProcessJson = { ...from };
  // A tty exec goes through the streaming server; ExecSync never has one, and a console size or
  // socket left over from the container's own process would make the runtime wait for a console.
  delete out.consoleSize;
  out.terminal = false;
  out.args = [...req.args];
  out.env = mergeEnv(stringList(from.env), req.env ?? []);
  out.cwd = req.cwd ?? (typeof from.cwd === "string" && from.cwd !== "" ? from.cwd : "/");
  if (req.user) {
    out.user = {
      uid: req.user.uid,
      gid: req.user.gid,
      ...(req.user.additionalGids ? { additionalGids: [...req.user.additionalGids] } : {}),
    };
  } else if (out.user === undefined) {
    out.user = { uid: 0, gid: 0 };
  }
  return out;
}
