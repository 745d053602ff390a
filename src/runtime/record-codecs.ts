// Sandbox and container records on disk: version 1 JSON with the timestamps as decimal strings
// (nanoseconds, "0" = not yet), the format berth has always written, so records of an earlier
// berth load after an upgrade. In memory the timestamps are bigint (src/runtime/records.ts).
import type { RecordCodec } from "../store/record-store.js";
import type { ContainerRecord, NsTime, SandboxRecord } from "./records.js";

const DECIMAL = /^\d+$/;

/** A timestamp as stored; a malformed one makes the record unreadable (skipped, logged). */
function nsFromDisk(value: unknown, field: string): NsTime {
  if (typeof value === "string" && DECIMAL.test(value)) return BigInt(value);
  throw new Error(`${field} is not a decimal timestamp`);
}

function isV1(raw: unknown): raw is { version: 1; id: string } & Record<string, unknown> {
  if (typeof raw !== "object" || raw === null) return false;
  const r = raw as Record<string, unknown>;
  return r["version"] === 1 && typeof r["id"] === "string";
}

export const sandboxCodec: RecordCodec<SandboxRecord> = {
  encode: (rec) => ({
    ...rec,
    createdAt: rec.createdAt.toString(),
    stoppedAt: rec.stoppedAt.toString(),
    infraExitedAt: rec.infraExitedAt.toString(),
  }),
  decode: (raw) => {
    if (!isV1(raw)) return undefined;
    // Records written before the infra's exit was recorded have no infraExitedAt:
    // reconcileSandboxes settles them.
    return {
      ...raw,
      createdAt: nsFromDisk(raw["createdAt"], "createdAt"),
      stoppedAt: nsFromDisk(raw["stoppedAt"], "stoppedAt"),
      infraExitedAt:
        raw["infraExitedAt"] === undefined ? 0n : nsFromDisk(raw["infraExitedAt"], "infraExitedAt"),
    } as unknown as SandboxRecord;
  },
};

export const containerCodec: RecordCodec<ContainerRecord> = {
  encode: (rec) => ({
    ...rec,
    createdAt: rec.createdAt.toString(),
    startedAt: rec.startedAt.toString(),
    finishedAt: rec.finishedAt.toString(),
  }),
  decode: (raw) => {
    if (!isV1(raw)) return undefined;
    return {
      ...raw,
      createdAt: nsFromDisk(raw["createdAt"], "createdAt"),
      startedAt: nsFromDisk(raw["startedAt"], "startedAt"),
      finishedAt: nsFromDisk(raw["finishedAt"], "finishedAt"),
    } as unknown as ContainerRecord;
  },
};
