// A pass over every string of a decoded request message: no NUL byte anywhere (each string of a
// config ends up in a path, an argv, an env, a file or a log line, and Node refuses NULs with an
// untyped error), and no single string or the whole longer than berth has any use for. Field
// paths are named as the proto names them: `config.mounts[2].host_path`, `config.labels["k"]`.
import { InvalidArgumentError } from "../errors.js";
import { quote } from "./text.js";

/** No field of a config needs more (annotations are bounded at 256 KiB in all). */
export const MAX_FIELD_CHARS = 256 * 1024;
/** All strings of one config together; kubelet's message limit is 16 MiB, pods need far less. */
export const MAX_TOTAL_CHARS = 4 * 1024 * 1024;

export function checkAllStrings(field: string, value: unknown): void {
  let total = 0;
  const visit = (f: string, v: unknown, depth: number): void => {
    if (depth > 32) throw new InvalidArgumentError(f, "nested too deeply");
    if (typeof v === "string") {
      const at = v.indexOf("\0");
      if (at >= 0) throw new InvalidArgumentError(f, `holds a NUL byte at offset ${at}`);
      if (v.length > MAX_FIELD_CHARS) {
        throw new InvalidArgumentError(
          f,
          `is ${v.length} characters long, over ${MAX_FIELD_CHARS}`,
        );
      }
      total += v.length;
      if (total > MAX_TOTAL_CHARS) {
        throw new InvalidArgumentError(
          field,
          `holds over ${MAX_TOTAL_CHARS} characters of strings`,
        );
      }
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => visit(`${f}[${i}]`, item, depth + 1));
      return;
    }
    if (typeof v === "object" && v !== null && !Buffer.isBuffer(v)) {
      const isMap =
        f.endsWith("labels") ||
        f.endsWith("annotations") ||
        f.endsWith("sysctls") ||
        f.endsWith("unified");
      for (const [k, item] of Object.entries(v)) {
        if (isMap) {
          visit(`${f} key`, k, depth + 1);
          visit(`${f}[${quote(k)}]`, item, depth + 1);
        } else {
          visit(`${f}.${k}`, item, depth + 1);
        }
      }
    }
  };
  visit(field, value, 0);
}
