// A persisted map of records (sandboxes, containers, images): one JSON file per record under
// a directory, written atomically before memory changes (containerd's UpdateSync idea), read
// back whole at startup. `get` hands out copies so callers cannot change state behind the
// store's back.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { errorMessage, isErrno, NotFoundError } from "../errors.js";
import { quote } from "../validate/text.js";
import type { Logger } from "../log.js";
import { fsyncDir, writeJsonAtomic, type AtomicWriteOptions } from "../util/atomic-file.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { IdIndex } from "./id-index.js";

export interface StoredRecord {
  readonly id: string;
}

/** How a record type is written to disk and read back (any version this berth still reads). */
export interface RecordCodec<T> {
  encode(rec: T): unknown;
  /** undefined for a version or shape this berth does not know. */
  decode(raw: unknown): T | undefined;
}

/** For records whose memory form is their JSON form: only `decode` checks the version. */
export function jsonCodec<T>(decode: (raw: unknown) => T | undefined): RecordCodec<T> {
  return { encode: (rec) => rec, decode };
}

export class RecordStore<T extends StoredRecord> {
  private readonly records = new Map<string, T>();
  /** Writes of one record happen one at a time, so no update is lost to a concurrent one. */
  private readonly writes = new KeyedMutex();
  readonly ids = new IdIndex();

  constructor(
    private readonly dir: string,
    private readonly kind: string,
    private readonly codec: RecordCodec<T>,
  ) {}

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  /** Loads every record; unreadable files are skipped and reported (never fatal). */
  async load(log: Logger): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const name of await fs.readdir(this.dir)) {
      if (!name.endsWith(".json") || name.startsWith(".")) {
        if (name.endsWith(".tmp")) await fs.rm(path.join(this.dir, name), { force: true });
        continue;
      }
      try {
        const rec = this.codec.decode(
          JSON.parse(await fs.readFile(path.join(this.dir, name), "utf8")),
        );
        if (!rec) throw new Error("unknown record version");
        this.records.set(rec.id, rec);
        this.ids.add(rec.id);
      } catch (err) {
        log.error(
          { file: name, err: errorMessage(err) },
          `skipping unreadable ${this.kind} record`,
        );
      }
    }
  }

  get(id: string): T | undefined {
    const r = this.records.get(id);
    return r ? structuredClone(r) : undefined;
  }

  /** The record for an id or unique id prefix; NotFoundError otherwise. */
  resolve(idOrPrefix: string): T {
    const id = this.ids.resolve(idOrPrefix, this.kind);
    const r = this.get(id);
    if (!r) throw new NotFoundError(`${this.kind} ${quote(idOrPrefix)} not found`);
    return r;
  }

  /** Like resolve, but undefined for an unknown id (Stop/Remove of unknown ids succeed). */
  find(idOrPrefix: string): T | undefined {
    const id = this.ids.find(idOrPrefix);
    return id === undefined ? undefined : this.get(id);
  }

  list(): T[] {
    return [...this.records.values()].map((r) => structuredClone(r));
  }

  /** Iterates without copying; callers must not mutate. For hot read paths (ListContainers). */
  *peek(): IterableIterator<Readonly<T>> {
    yield* this.records.values();
  }

  get size(): number {
    return this.records.size;
  }

  /** Writes the record to disk, then to memory. */
  async put(rec: T): Promise<void> {
    await this.writes.run(rec.id, () => this.write(rec));
  }

  private async write(rec: T, opts: AtomicWriteOptions = {}): Promise<void> {
    await writeJsonAtomic(this.file(rec.id), this.codec.encode(rec), opts);
    this.records.set(rec.id, structuredClone(rec));
    this.ids.add(rec.id);
  }

  /**
   * Applies `change` to a copy of the current record and saves it; returns the new record.
   * `syncDir: false` is for changes a restart repairs when the crash loses them: the file
   * already exists, so the old version or the new one survives, never neither.
   */
  async update(id: string, change: (rec: T) => void, opts: AtomicWriteOptions = {}): Promise<T> {
    return this.writes.run(id, async () => {
      const current = this.records.get(id);
      if (!current) throw new NotFoundError(`${this.kind} "${id}" not found`);
      const next = structuredClone(current);
      change(next);
      await this.write(next, opts);
      return structuredClone(next);
    });
  }

  async delete(id: string): Promise<void> {
    await this.writes.run(id, () => this.remove(id));
  }

  private async remove(id: string): Promise<void> {
    try {
      await fs.unlink(this.file(id));
      await fsyncDir(this.dir);
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
    }
    this.records.delete(id);
    this.ids.delete(id);
  }
}
