// Reads the small text files of one cgroup. A file that is not there is `undefined`, never an
// error: controllers come and go per host, and a cgroup can vanish between listing and reading.
import type { TextFileReader } from "./worker-file-reader.js";
import * as fs from "node:fs";
import * as path from "node:path";

/** errno codes meaning "this file (or its cgroup) is not there". */
const MISSING_CODES = new Set(["ENOENT", "ENODEV", "ENOTDIR", "ESRCH"]);

function errnoCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  const code = err.code;
  return typeof code === "string" ? code : undefined;
}

export function isMissingFileError(err: unknown): boolean {
  const code = errnoCode(err);
  return code !== undefined && MISSING_CODES.has(code);
}

/**
 * Read size: just under half of Buffer's pool, so allocation is a cheap pool slice. Nearly
 * every cgroup and procfs file fits; larger ones (io.stat with many devices) take more reads.
 */
const READ_CHUNK = 4095;

/**
 * open, read until a short read, close: the cheapest asynchronous way to read a pseudo-file.
 * Measured on this project's hosts, fs.promises.readFile costs ~5× the CPU per file (pseudo-
 * files report size 0, which costs it an fstat and an extra read, and each FileHandle is
 * tracked for GC) and FileHandle reads ~2×; at hundreds of cgroups × ~20 files per scrape,
 * that is the whole budget. A short read is the end of the file for kernfs, seq_file and
 * regular files; a full buffer makes us read on.
 */
function readWholeFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    fs.open(file, "r", (openErr, fd) => {
      if (openErr !== null) {
        reject(openErr);
        return;
      }
      const chunks: Buffer[] = [];
      const finish = (err: Error | null): void => {
        // The result does not wait for close; a close error on a read-only fd has no meaning.
        fs.close(fd, () => undefined);
        if (err !== null) reject(err);
        else
          resolve(
            chunks.length === 1
              ? (chunks[0] as Buffer).toString("utf8")
              : Buffer.concat(chunks).toString("utf8"),
          );
      };
      const readNext = (): void => {
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        fs.read(fd, buf, 0, READ_CHUNK, null, (readErr, bytesRead) => {
          if (readErr !== null) {
            finish(readErr);
            return;
          }
          chunks.push(buf.subarray(0, bytesRead));
          if (bytesRead === READ_CHUNK) readNext();
          else finish(null);
        });
      };
      readNext();
    });
  });
}

/** Reads a whole text file; undefined when it is missing or unreadable. */
export async function readOptionalText(
  file: string,
  onReadError?: (file: string, error: unknown) => void,
  reader?: TextFileReader,
): Promise<string | undefined> {
  try {
    return await (reader ? reader.read(file) : readWholeFile(file));
  } catch (err: unknown) {
    if (!isMissingFileError(err)) onReadError?.(file, err);
    return undefined;
  }
}

/**
 * The file reads of one cgroup reading. Remembers whether any file was found, which is how a
 * vanished cgroup (every read missing) is told apart from one that merely lacks controllers.
 */
export class CgroupFileReads {
  private found = false;

  constructor(
    private readonly onReadError?: (file: string, error: unknown) => void,
    private readonly reader?: TextFileReader,
  ) {}

  /** Reads `name` in `dir`; a missing `dir` (controller not mounted) reads as missing. */
  async read(dir: string | undefined, name: string): Promise<string | undefined> {
    if (dir === undefined) return undefined;
    const text = await readOptionalText(path.join(dir, name), this.onReadError, this.reader);
    if (text !== undefined) this.found = true;
    return text;
  }

  get anyFound(): boolean {
    return this.found;
  }
}
