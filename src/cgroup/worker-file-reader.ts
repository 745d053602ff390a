// Reads small kernel files (cgroup and /proc) in batches on a worker thread. One metrics pass
// reads ~500 tiny files; through libuv's pool each costs three round trips (open, read, close),
// while a worker reading them synchronously in one batch is ~3x faster (550 files: ~30 ms vs
// ~9 ms on this 2-core host) and never blocks berthd's event loop. Reads issued in the same
// tick go to the worker as one batch.
//
// A worker that fails (throws, exits, runs out of memory) would leave every pending read, and
// so every later scrape and stats RPC, waiting forever: its pending reads are rejected and the
// next batch goes to a fresh worker.
import { Worker } from "node:worker_threads";

/** Reads a whole text file; rejects with the errno error (code ENOENT, ...) when it cannot. */
export interface TextFileReader {
  read(file: string): Promise<string>;
}

type WorkerResult = { ok: true; text: string } | { ok: false; code: string; message: string };

/** The worker's code; tests may pass their own to make a worker fail. */
export const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
parentPort.on("message", ({ id, files }) => {
  const results = files.map((f) => {
    try {
      return { ok: true, text: fs.readFileSync(f, "utf8") };
    } catch (err) {
      return { ok: false, code: String(err && err.code || "EIO"), message: String(err && err.message || err) };
    }
  });
  parentPort.postMessage({ id, results });
});
`;

interface Pending {
  file: string;
  resolve: (text: string) => void;
  reject: (err: Error) => void;
}

export interface WorkerFileReaderOptions {
  source?: string;
  /** Told each time a failed worker is dropped (berthd logs it). */
  onWorkerFailed?: (err: Error) => void;
}

export class WorkerFileReader implements TextFileReader {
  private worker: Worker | undefined;
  private queue: Pending[] = [];
  private scheduled = false;
  private nextId = 0;
  private readonly batches = new Map<number, Pending[]>();
  private closed = false;
  /** Workers started so far (1 + replacements), for tests and logs. */
  started = 0;

  // The worker starts with the first batch: its isolate is ~7 MB that a node nobody asks for
  // stats or metrics never needs.
  constructor(private readonly opts: WorkerFileReaderOptions = {}) {}

  private spawn(): Worker {
    const w = new Worker(this.opts.source ?? WORKER_SOURCE, { eval: true });
    this.started++;
    w.unref();
    w.on("message", (m: { id: number; results: WorkerResult[] }) => this.settle(m));
    w.on("error", (err) => this.drop(w, err));
    w.on("exit", (code) => this.drop(w, new Error(`cgroup reader worker exited (${code})`)));
    return w;
  }

  read(file: string): Promise<string> {
    if (this.closed) return Promise.reject(new Error("cgroup reader closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ file, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (this.closed) {
      for (const p of batch) p.reject(new Error("cgroup reader closed"));
      return;
    }
    this.worker ??= this.spawn();
    const id = this.nextId++;
    this.batches.set(id, batch);
    this.worker.postMessage({ id, files: batch.map((p) => p.file) });
  }

  private settle(m: { id: number; results: WorkerResult[] }): void {
    const batch = this.batches.get(m.id);
    if (!batch) return;
    this.batches.delete(m.id);
    batch.forEach((p, i) => {
      const r = m.results[i];
      if (r?.ok) p.resolve(r.text);
      else
        p.reject(Object.assign(new Error(r?.message ?? "no result"), { code: r?.code ?? "EIO" }));
    });
  }

  /**
   * A worker that failed answers nothing more: every batch sent to it is rejected, and the
   * next flush starts a new one. A worker's error is followed by its exit; only the first counts.
   */
  private drop(w: Worker, err: Error): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    void w.terminate();
    const pending = [...this.batches.values()];
    this.batches.clear();
    for (const batch of pending) for (const p of batch) p.reject(err);
    if (!this.closed) this.opts.onWorkerFailed?.(err);
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    const pending = [...this.batches.values()];
    this.batches.clear();
    for (const batch of pending) for (const p of batch) p.reject(new Error("cgroup reader closed"));
    if (w) await w.terminate();
  }
}
