// Every successful ADD is saved (config, arguments and result) under berth's state dir, so DEL
// and CHECK run with what ADD used, even after a berthd restart, a changed conf dir, or once
// the pod's netns is gone. One file per attachment: `<dir>/<containerId>-<ifName>.json`.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { InternalError, InvalidArgumentError, errorMessage, isErrno } from "../errors.js";
import { writeJsonAtomic } from "../util/atomic-file.js";
import type { CapabilityArgs } from "./cni-exec.js";
import {
  type JsonObject,
  type NetworkConfigList,
  isJsonObject,
  validateConfigList,
} from "./cni-types.js";

export interface CachedAttachment {
  version: 1;
  containerId: string;
  ifName: string;
  netnsPath: string;
  cniArgs: string;
  capabilityArgs: CapabilityArgs;
  config: NetworkConfigList;
  /** The final result of the ADD chain, as the last plugin printed it; absent while ADD runs
   *  (the entry is written before ADD so a crash mid-ADD still leaves what DEL needs). */
  result?: JsonObject;
}

const SAFE_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class CniResultCache {
  constructor(readonly dir: string) {}

  fileFor(containerId: string, ifName: string): string {
    if (!SAFE_ID.test(containerId)) {
      throw new InvalidArgumentError(
        "pod_sandbox_id",
        `${JSON.stringify(containerId)} is not a valid id`,
      );
    }
    if (!SAFE_ID.test(ifName))
      throw new InternalError(`invalid interface name ${JSON.stringify(ifName)}`);
    return path.join(this.dir, `${containerId}-${ifName}.json`);
  }

  /**
   * Writes the entry atomically; `durable: false` skips the fsyncs (atomic-file.ts): it then
   * survives a crash of berthd, not a power loss.
   */
  async save(entry: CachedAttachment, opts: { durable?: boolean } = {}): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeJsonAtomic(this.fileFor(entry.containerId, entry.ifName), entry, {
      sync: opts.durable ?? true,
    });
  }

  /** The saved attachment, undefined when there is none; throws InternalError when unreadable. */
  async load(containerId: string, ifName: string): Promise<CachedAttachment | undefined> {
    const file = this.fileFor(containerId, ifName);
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if (isErrno(err, "ENOENT")) return undefined;
      throw new InternalError(`cannot read CNI cache ${file}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    return parseCachedAttachment(text, file);
  }

  async remove(containerId: string, ifName: string): Promise<void> {
    await fs.rm(this.fileFor(containerId, ifName), { force: true });
  }

  /** The container ids that have any cached attachment (for recovery and leak checks). */
  async containerIds(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if (isErrno(err, "ENOENT")) return [];
      throw err;
    }
    const ids = new Set<string>();
    for (const n of names) {
      const m = /^(.+)-([^-]+)\.json$/.exec(n);
      if (m?.[1] !== undefined) ids.add(m[1]);
    }
    return [...ids].sort();
  }
}

export function parseCachedAttachment(text: string, file: string): CachedAttachment {
  const bad = (why: string): InternalError =>
    new InternalError(`corrupt CNI cache ${file}: ${why}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(errorMessage(err));
  }
  if (!isJsonObject(raw) || raw["version"] !== 1) throw bad("unknown version");
  const { containerId, ifName, netnsPath, cniArgs, capabilityArgs, config, result } = raw;
  if (typeof containerId !== "string" || typeof ifName !== "string") throw bad("no container id");
  if (typeof netnsPath !== "string" || typeof cniArgs !== "string") throw bad("no netns or args");
  if (!isJsonObject(capabilityArgs)) throw bad("no capability args");
  if (result !== undefined && !isJsonObject(result)) throw bad("result is not an object");
  const list = validateConfigList(config);
  if (!list.ok) throw bad(list.reason);
  const entry: CachedAttachment = {
    version: 1,
    containerId,
    ifName,
    netnsPath,
    cniArgs,
    capabilityArgs,
    config: list.value,
  };
  if (result !== undefined) entry.result = result;
  return entry;
}
