// The CRI container log format conmon writes (`k8s-file`) and kubelet reads:
//   <RFC 3339 time with ns> <stdout|stderr> <tags> <content>\n
// Tags are ':'-separated; the first is P (partial: the line continues in the next entry) or F
// (full: the line ends here). conmon prints local time with a numeric offset ("+00:00"), kubelet
// and containerd print "Z"; both are RFC 3339.

export type CriStream = "stdout" | "stderr";

export interface CriLogEntry {
  /** The timestamp as written. */
  time: string;
  /** The same instant in ns since the epoch; undefined if the timestamp does not parse. */
  timeNs: bigint | undefined;
  stream: CriStream;
  partial: boolean;
  /** Without the trailing newline. */
  content: string;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/** Parses an RFC 3339 timestamp (fraction up to ns) to ns since the epoch, exactly. */
export function parseRfc3339Nano(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  if (Number.isNaN(ms)) return undefined;
  let offsetMin = 0;
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    offsetMin = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const nanos = BigInt((frac ?? "").padEnd(9, "0") || "0");
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * 1_000_000n + nanos;
}

/** One log line (without its newline); undefined when it is not in CRI format. */
export function parseCriLogLine(line: string): CriLogEntry | undefined {
  const sp1 = line.indexOf(" ");
  const sp2 = sp1 < 0 ? -1 : line.indexOf(" ", sp1 + 1);
  if (sp2 < 0) return undefined;
  const time = line.slice(0, sp1);
  const stream = line.slice(sp1 + 1, sp2);
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  const sp3 = line.indexOf(" ", sp2 + 1);
  // "<time> <stream> F" with nothing after is an empty line written by an older writer.
  const tags = sp3 < 0 ? line.slice(sp2 + 1) : line.slice(sp2 + 1, sp3);
  const first = tags.split(":", 1)[0];
  if (first !== "P" && first !== "F") return undefined;
  return {
    time,
    timeNs: parseRfc3339Nano(time),
    stream,
    partial: first === "P",
    content: sp3 < 0 ? "" : line.slice(sp3 + 1),
  };
}

/**
 * Every well-formed entry of a log file's text, in order. Lines not in CRI format are skipped, as
 * is an unterminated last line (a write still in progress).
 */
export function parseCriLog(text: string): CriLogEntry[] {
  const lines = text.split("\n");
  lines.pop(); // "" after the last newline, or an unfinished line
  const out: CriLogEntry[] = [];
  for (const line of lines) {
    const e = parseCriLogLine(line);
    if (e) out.push(e);
  }
  return out;
}

/** Joins P entries with the F entry that ends them, per stream: the lines the program wrote. */
export function criLogLines(
  entries: readonly CriLogEntry[],
): { stream: CriStream; line: string }[] {
  const pending: Record<CriStream, string> = { stdout: "", stderr: "" };
  const out: { stream: CriStream; line: string }[] = [];
  for (const e of entries) {
    pending[e.stream] += e.content;
    if (!e.partial) {
      out.push({ stream: e.stream, line: pending[e.stream] });
      pending[e.stream] = "";
    }
  }
  return out;
}
