// What `<runtime> state <id>` prints (the OCI runtime spec's "state" object), parsed without trust,
// and how runc and crun word "that container does not exist" on stderr.
import * as path from "node:path";
import { InternalError } from "../../errors.js";

export type OciStatus = "creating" | "created" | "running" | "stopped" | "paused";

const STATUSES: readonly string[] = ["creating", "created", "running", "stopped", "paused"];

export interface RuntimeState {
  id: string;
  status: OciStatus;
  /** 0 once the container has stopped (runc reports 0 then). */
  pid: number;
  bundle: string;
  /** RFC 3339 creation time as the runtime printed it; "" when absent. */
  created: string;
  annotations: Record<string, string>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses `state` output; throws InternalError on anything that is not an OCI state object. */
export function parseRuntimeState(text: string): RuntimeState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InternalError(`runtime state is not JSON: ${text.slice(0, 200)}`, { cause: err });
  }
  if (!isRecord(raw)) throw new InternalError("runtime state is not a JSON object");
  const { id, status, pid, bundle, created, annotations } = raw;
  if (typeof id !== "string" || id === "") throw new InternalError("runtime state has no id");
  if (typeof status !== "string" || !STATUSES.includes(status)) {
    throw new InternalError(`runtime state of ${id} has unknown status ${JSON.stringify(status)}`);
  }
  const ann: Record<string, string> = {};
  if (isRecord(annotations)) {
    for (const [k, v] of Object.entries(annotations)) if (typeof v === "string") ann[k] = v;
  }
  return {
    id,
    status: status as OciStatus,
    pid: typeof pid === "number" && Number.isSafeInteger(pid) && pid > 0 ? pid : 0,
    bundle: typeof bundle === "string" ? bundle : "",
    created: typeof created === "string" ? created : "",
    annotations: ann,
  };
}

// runc: `container does not exist`; crun: `error opening file `<root>/<id>/status`: No such file
// or directory` or `cannot open directory '<root>/<id>': No such file or directory`. Any other
// "no such file" (a missing bundle, cgroup, binary or rootfs) is a failure, not "gone": taking
// it for "does not exist" would report a failed `delete` as done.
const NOT_EXIST = /container does not exist|container not found/i;
const ENOENT_PATH = /[`'"]([^`'"]+)[`'"]: No such file or directory/gi;

/** Where the runtime keeps a container's state: `<root>/<id>`. */
export interface RuntimeStateDir {
  root: string;
  id: string;
}

/**
 * True when the runtime's error text says the container id is unknown to it: runc's words, or
 * a "No such file or directory" naming the container's own state dir or its status file.
 */
export function isNotExistMessage(stderr: string, where?: RuntimeStateDir): boolean {
  if (NOT_EXIST.test(stderr)) return true;
  if (where === undefined) return false;
  const dir = path.join(where.root, where.id);
  for (const m of stderr.matchAll(ENOENT_PATH)) {
    const p = path.normalize(m[1] ?? "");
    if (p === dir || p === path.join(dir, "status")) return true;
  }
  return false;
}

// runc: `container not running`, `process already finished`; crun: `container not running` or
// `kill container: No such process`.
const NOT_RUNNING = /not running|process already finished|no such process/i;

/** True when a kill failed only because nothing in the container is alive any more. */
export function isNotRunningMessage(stderr: string): boolean {
  return NOT_RUNNING.test(stderr);
}

/** runc prints logrus lines (`time=".." level=error msg="..."`); keep just the messages. */
export function cleanRuntimeMessage(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return lines
    .map((l) => {
      const m = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(l);
      return m?.[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : l;
    })
    .join("; ");
}
