// The resize channel carries a stream of JSON objects `{"Width":W,"Height":H}`, one per terminal
// size change, with nothing between them but optional whitespace; a transport may split one
// object across chunks or put several in one. kubelet reads it with a json.Decoder into a
// struct of two uint16 (Go matches field names case-insensitively) and stops at the first
// value it cannot decode; so does this.
import type { Readable } from "node:stream";
import type { TerminalSize } from "./types.js";

const MAX_OBJECT_BYTES = 4096;

/** Incremental splitter: feed chunks, get the complete top-level JSON objects seen so far. */
export class ResizeParser {
  private pending = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private failed = false;

  /** Sizes completed by `chunk`; after a malformed value, nothing more is ever returned. */
  push(chunk: string): TerminalSize[] {
    const out: TerminalSize[] = [];
    for (const ch of chunk) {
      if (this.failed) return out;
      if (this.depth === 0) {
        if (/\s/.test(ch)) continue;
        if (ch !== "{") {
          this.failed = true;
          return out;
        }
      }
      this.pending += ch;
      if (this.pending.length > MAX_OBJECT_BYTES) {
        this.failed = true;
        return out;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === "\\") this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === "{" || ch === "[") this.depth++;
      else if (ch === "}" || ch === "]") {
        this.depth--;
        if (this.depth === 0) {
          const size = decodeSize(this.pending);
          this.pending = "";
          if (!size) {
            this.failed = true;
            return out;
          }
          out.push(size);
        }
      }
    }
    return out;
  }
}

function isUint16(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

/** One object to a size: fields matched case-insensitively, missing ones 0 (Go's zero value). */
function decodeSize(text: string): TerminalSize | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  let width: unknown = 0;
  let height: unknown = 0;
  for (const [k, v] of Object.entries(value)) {
    const key = k.toLowerCase();
    if (key === "width") width = v;
    else if (key === "height") height = v;
  }
  if (!isUint16(width) || !isUint16(height)) return undefined;
  return { width, height };
}

/** The sizes a resize stream carries, in order; ends when the stream ends or turns malformed. */
export async function* terminalSizes(stream: Readable): AsyncGenerator<TerminalSize> {
  const parser = new ResizeParser();
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      yield* parser.push(text);
    }
  } catch {
    // A stream torn down with the connection is the end of the sizes, not the runtime's error.
  }
}
