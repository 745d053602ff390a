// What went wrong when the runtime could not create a container. conmon hands back the
// runtime's whole stderr, which for runc mixes warnings from its cleanup ("cannot toggle
// freezer", "lstat : no such file or directory") with the error itself. Run with
// `--log <file> --log-format json` (global flags both runc and crun take), the runtime writes
// every message to that file as a JSON object with a level; its last error is the cause.
import { readFile } from "node:fs/promises";
import { type BerthError, FailedPreconditionError, InternalError, isErrno } from "../../errors.js";

export interface RuntimeLogEntry {
  level: string;
  msg: string;
}

/**
 * The top-level JSON objects in `text`: runc writes one per line, crun writes them back to back
 * with no newline between, so objects are cut by brace depth (outside strings), not by lines.
 */
export function jsonObjects(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      if (depth > 0) inString = true;
    } else if (ch === "{") {
      if (depth++ === 0) start = i;
    } else if (ch === "}" && depth > 0) {
      if (--depth === 0) out.push(text.slice(start, i + 1));
    }
  }
  return out;
}

/** The entries of a runtime's JSON log; anything that is not such an object is skipped. */
export function parseRuntimeLog(text: string): RuntimeLogEntry[] {
  const out: RuntimeLogEntry[] = [];
  for (const obj of jsonObjects(text)) {
    try {
      const v: unknown = JSON.parse(obj);
      if (typeof v !== "object" || v === null) continue;
      const rec = v as Record<string, unknown>;
      if (typeof rec.msg === "string") {
        out.push({ level: typeof rec.level === "string" ? rec.level : "", msg: rec.msg.trim() });
      }
    } catch {
      // not JSON after all: not an entry
    }
  }
  return out;
}

/** The last error the runtime logged, or undefined when the log has none. */
export function runtimeCause(entries: readonly RuntimeLogEntry[]): string | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if ((e.level === "error" || e.level === "fatal") && e.msg !== "") return e.msg;
  }
  return undefined;
}

export async function readRuntimeLog(file: string): Promise<RuntimeLogEntry[]> {
  try {
    return parseRuntimeLog(await readFile(file, "utf8"));
  } catch (err) {
    if (isErrno(err, "ENOENT")) return [];
    throw err;
  }
}

// runc: `exec: "/x": stat /x: no such file or directory`, `exec: "x": executable file not
// found in $PATH`, `exec: "/etc": permission denied`; crun: "executable file `x` not found in
// $PATH", `open executable: ...`.
const MISSING_EXECUTABLE =
  /exec: "[^"]*": (stat .*: no such file or directory|executable file not found|permission denied|is a directory)|executable file `[^`]*` not found|open executable/i;

/**
 * The error for a failed create: a command the image does not have (or cannot run) is the
 * request's fault given the image, so FAILED_PRECONDITION; anything else stays INTERNAL.
 */
export function createFailure(message: string): BerthError {
  return MISSING_EXECUTABLE.test(message)
    ? new FailedPreconditionError(message)
    : new InternalError(message);
}
