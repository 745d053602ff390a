// Pure parsers for block I/O accounting: v1 blkio "MAJ:MIN Op value" files and v2 io.stat.
import type { IoDeviceStats } from "./types.js";

type Counter = "readBytes" | "writeBytes" | "reads" | "writes";

function deviceEntry(byDevice: Map<string, IoDeviceStats>, key: string): IoDeviceStats | undefined {
  let entry = byDevice.get(key);
  if (entry === undefined) {
    const m = /^(\d+):(\d+)$/.exec(key);
    if (m === null) return undefined;
    entry = {
      major: Number(m[1]),
      minor: Number(m[2]),
      readBytes: 0n,
      writeBytes: 0n,
      reads: 0n,
      writes: 0n,
    };
    byDevice.set(key, entry);
  }
  return entry;
}

/** Adds one v1 blkio file ("8:0 Read 4096" lines, a trailing "Total N") into `byDevice`. */
function addBlkio(
  byDevice: Map<string, IoDeviceStats>,
  text: string,
  readField: Counter,
  writeField: Counter,
): void {
  for (const line of text.split("\n")) {
    const m = /^(\d+:\d+)\s+(Read|Write)\s+(\d+)\s*$/.exec(line);
    if (m === null) continue; // Sync, Async, Discard, Total lines carry nothing new
    const entry = deviceEntry(byDevice, m[1] ?? "");
    if (entry === undefined) continue;
    entry[m[2] === "Read" ? readField : writeField] += BigInt(m[3] ?? "0");
  }
}

/** True when a v1 blkio file lists at least one device (not just "Total 0"). */
export function blkioHasDevices(text: string | undefined): boolean {
  return text !== undefined && /^\d+:\d+ /m.test(text);
}

/** v1: the bytes file (io_service_bytes*) and the operations file (io_serviced*) of one family. */
export function parseBlkioV1(
  bytesText: string | undefined,
  opsText: string | undefined,
): IoDeviceStats[] {
  const byDevice = new Map<string, IoDeviceStats>();
  if (bytesText !== undefined) addBlkio(byDevice, bytesText, "readBytes", "writeBytes");
  if (opsText !== undefined) addBlkio(byDevice, opsText, "reads", "writes");
  return [...byDevice.values()];
}

const IO_STAT_KEYS: Record<string, Counter> = {
  rbytes: "readBytes",
  wbytes: "writeBytes",
  rios: "reads",
  wios: "writes",
};

/** v2 io.stat: "8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. */
export function parseIoStatV2(text: string): IoDeviceStats[] {
  const byDevice = new Map<string, IoDeviceStats>();
  for (const line of text.split("\n")) {
    const [key, ...pairs] = line.trim().split(/\s+/);
    if (key === undefined || key === "") continue;
    const entry = deviceEntry(byDevice, key);
    if (entry === undefined) continue;
    for (const pair of pairs) {
      const eq = pair.indexOf("=");
      const field = IO_STAT_KEYS[pair.slice(0, eq)];
      const value = pair.slice(eq + 1);
      if (eq > 0 && field !== undefined && /^\d+$/.test(value)) entry[field] = BigInt(value);
    }
  }
  return [...byDevice.values()];
}
