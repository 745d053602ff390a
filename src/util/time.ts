// Wall-clock time in nanoseconds since the epoch as bigint (CRI timestamps are int64 ns, past
// what a JS number holds exactly), with microsecond resolution.
import { performance } from "node:perf_hooks";

export function nowNs(): bigint {
  const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
  return BigInt(us) * 1000n;
}

export function nsToDate(ns: bigint): Date {
  return new Date(Number(ns / 1_000_000n));
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n;
}
