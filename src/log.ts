// berth logs JSON lines to stderr with pino. Components take a Logger and make children with
// their own bindings (rpc, pod and container ids).
import { pino, type Logger as PinoLogger, type Level } from "pino";

export type Logger = PinoLogger;

export const LOG_LEVELS: readonly Level[] = ["fatal", "error", "warn", "info", "debug", "trace"];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { name: "berthd" }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination(2),
  );
}

/** A logger that writes nothing, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
