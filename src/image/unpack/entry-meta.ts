// Owner, mode and time of a tar entry, PAX records winning over the ustar header fields.
import type { Header } from "tar-stream";

export interface EntryMeta {
  uid: number;
  gid: number;
  mode: number;
  mtime: Date;
}

/** The PAX records tar-stream attached to the header (it types them as unknown). */
export function paxRecords(header: Header): Record<string, string> | undefined {
  const pax = header.pax;
  if (typeof pax !== "object" || pax === null) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pax)) if (typeof v === "string") out[k] = v;
  return out;
}

export function entryMeta(header: Header): EntryMeta {
  const pax = paxRecords(header);
  return {
    uid: paxInt(pax?.uid) ?? header.uid ?? 0,
    gid: paxInt(pax?.gid) ?? header.gid ?? 0,
    mode: (header.mode ?? 0o644) & 0o7777,
    mtime: paxTime(pax?.mtime) ?? header.mtime ?? new Date(0),
  };
}

function paxInt(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n <= 0xffffffff ? n : undefined;
}

/** PAX mtimes carry fractions of a second ("1700000000.123456789"). */
function paxTime(v: string | undefined): Date | undefined {
  if (v === undefined || !/^-?\d+(\.\d+)?$/.test(v)) return undefined;
  return new Date(Number(v) * 1000);
}
