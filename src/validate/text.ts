// Checks on the strings a client sends, and the one way a client value is quoted in an error
// message: bounded and escaped, so a 1 MB or NUL-laden field neither floods the log nor the
// status a client reads back.
import { InvalidArgumentError } from "../errors.js";

/** How many characters of a client value an error message quotes. */
export const QUOTE_CHARS = 64;

/**
 * A client value for an error message: JSON-quoted (so NULs and control characters show as
 * escapes) and cut to QUOTE_CHARS characters with "…" when longer.
 */
export function quote(value: string, max = QUOTE_CHARS): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  const q = JSON.stringify(cut);
  return value.length > max ? `${q} (${value.length} characters)` : q;
}

/** Cuts any text (an error message that may embed client values) to `max` characters. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

/** A string that reaches a path, an argv, an env or a file: no NUL byte (Node and the kernel refuse them). */
export function checkNoNul(field: string, value: string): void {
  const at = value.indexOf("\0");
  if (at >= 0) throw new InvalidArgumentError(field, `holds a NUL byte at offset ${at}`);
}

/** A bounded string without NULs. `max` counts UTF-16 units, which bound the UTF-8 bytes by 3×. */
export function checkString(field: string, value: string, max: number): void {
  checkNoNul(field, value);
  if (value.length > max) {
    throw new InvalidArgumentError(
      field,
      `is ${value.length} characters long, over the ${max} allowed`,
    );
  }
}

export function checkNonEmpty(field: string, value: string): void {
  if (value === "") throw new InvalidArgumentError(field, "must not be empty");
}

/**
 * Kubernetes object names, namespaces and container names: ASCII letters and digits, with `-`,
 * `.` and `_` inside. Kubernetes itself allows only lower case; upper case is accepted because
 * critest and crictl users name pods "PodSandbox-…". Anything else (a `/`, a space, non-ASCII)
 * would break the `_`-joined full names, CNI_ARGS, conmon's arguments or a path.
 */
const DNS_ISH = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

export function checkDnsIsh(field: string, value: string, max: number): void {
  checkNonEmpty(field, value);
  checkString(field, value, max);
  if (!DNS_ISH.test(value)) {
    throw new InvalidArgumentError(
      field,
      `${quote(value)} must be ASCII letters, digits, '-', '.' or '_', starting and ending with a letter or digit`,
    );
  }
}

/** The kernel's limit on one argv or environment string (MAX_ARG_STRLEN). */
export const MAX_ARG_CHARS = 128 * 1024;
/** PATH_MAX: no path a client gives can be longer. */
export const MAX_PATH_CHARS = 4096;

/** An absolute path without NULs, within PATH_MAX, without `..` components. */
export function checkAbsolutePath(field: string, value: string): void {
  checkString(field, value, MAX_PATH_CHARS);
  if (!value.startsWith("/"))
    throw new InvalidArgumentError(field, `${quote(value)} must be absolute`);
  if (value.split("/").includes("..")) {
    throw new InvalidArgumentError(field, `${quote(value)} must not hold '..'`);
  }
}
