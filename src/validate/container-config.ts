// ContainerConfig as CreateContainer receives it, checked whole before anything is made:
// every string (NULs, size), the name, image, argv and env (the kernel's limits), paths,
// devices, labels and annotations, the log path and the resources.
import * as path from "node:path";
import { InvalidArgumentError } from "../errors.js";
import type { ContainerConfig__Output } from "../gen/runtime/v1/ContainerConfig.js";
import { checkContainerMetadata, checkStringMap } from "./metadata.js";
import { checkLogPath } from "./paths.js";
import { type ResourceHost, validateResources } from "./resources.js";
import {
  MAX_ARG_CHARS,
  MAX_PATH_CHARS,
  checkAbsolutePath,
  checkNonEmpty,
  checkString,
  quote,
} from "./text.js";
import { checkAllStrings } from "./walk.js";

/** argv plus environment must fit ARG_MAX (a quarter of an 8 MiB stack) with room to spare. */
export const MAX_EXEC_CHARS = 1024 * 1024;
const MAX_IMAGE_CHARS = 4096;
const SIGNALS = /^SIGNAL_(RUNTIME_DEFAULT|SIG[A-Z0-9+-]+)$/;

/** An argv (command + args, or ExecSync's cmd): each string and the whole bounded. */
export function checkArgv(field: string, argv: readonly string[], budget = MAX_EXEC_CHARS): number {
  let total = 0;
  for (const [i, a] of argv.entries()) {
    checkString(`${field}[${i}]`, a, MAX_ARG_CHARS);
    total += a.length + 1;
    if (total > budget)
      throw new InvalidArgumentError(field, `is over ${budget} characters in all`);
  }
  return total;
}

export function validateContainerFields(cfg: ContainerConfig__Output, host: ResourceHost): void {
  checkAllStrings("config", cfg);
  checkContainerMetadata(cfg.metadata);
  if (!cfg.image) throw new InvalidArgumentError("config.image", "required");
  checkNonEmpty("config.image.image", cfg.image.image);
  checkString("config.image.image", cfg.image.image, MAX_IMAGE_CHARS);

  let used = checkArgv("config.command", cfg.command);
  used += checkArgv("config.args", cfg.args, MAX_EXEC_CHARS - used);
  // runc echoes the executable in its errors; one over a pipe's 64 KiB deadlocks its create.
  const [exeField, exe] =
    cfg.command.length > 0
      ? ["config.command[0]", cfg.command[0]]
      : ["config.args[0]", cfg.args[0]];
  if (exe !== undefined) checkString(exeField, exe, MAX_PATH_CHARS);
  for (const [i, e] of cfg.envs.entries()) {
    const f = `config.envs[${i}]`;
    if (e.key === "" || e.key.includes("=")) {
      throw new InvalidArgumentError(`${f}.key`, `${quote(e.key)} must be non-empty without '='`);
    }
    // A bytes field: the string pass does not see it.
    const value = typeof e.value === "string" ? Buffer.from(e.value) : e.value;
    if (value.includes(0)) throw new InvalidArgumentError(`${f}.value`, "holds a NUL byte");
    used += e.key.length + value.length + 2;
    if (used > MAX_EXEC_CHARS) {
      throw new InvalidArgumentError(
        "config.envs",
        `command, args and envs are over ${MAX_EXEC_CHARS} characters in all`,
      );
    }
  }
  if (cfg.working_dir !== "") checkAbsolutePath("config.working_dir", cfg.working_dir);

  for (const [i, m] of cfg.mounts.entries()) {
    checkString(`config.mounts[${i}].container_path`, m.container_path, MAX_PATH_CHARS);
    checkString(`config.mounts[${i}].host_path`, m.host_path, MAX_PATH_CHARS);
    if (!m.container_path.startsWith("/")) {
      throw new InvalidArgumentError(`config.mounts[${i}].container_path`, "must be absolute");
    }
    // A mount over the container's root hides its /proc from runc: it fails half-way through.
    if (path.posix.resolve("/", m.container_path) === "/") {
      throw new InvalidArgumentError(
        `config.mounts[${i}].container_path`,
        "must not be the container's root",
      );
    }
  }
  for (const [i, d] of cfg.devices.entries()) {
    checkAbsolutePath(`config.devices[${i}].container_path`, d.container_path);
    checkAbsolutePath(`config.devices[${i}].host_path`, d.host_path);
    if (!/^[rwm]{0,3}$/.test(d.permissions)) {
      throw new InvalidArgumentError(
        `config.devices[${i}].permissions`,
        `${quote(d.permissions)} is not made of r, w, m`,
      );
    }
  }
  checkStringMap("config.labels", cfg.labels);
  checkStringMap("config.annotations", cfg.annotations);
  checkLogPath(cfg.log_path);
  if (typeof cfg.stop_signal !== "string" || !SIGNALS.test(cfg.stop_signal)) {
    throw new InvalidArgumentError(
      "config.stop_signal",
      `${String(cfg.stop_signal)} is not a known signal`,
    );
  }
  const res = cfg.linux?.resources;
  if (res) validateResources(res, "config.linux.resources", host);
}
