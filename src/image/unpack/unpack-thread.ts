// The worker thread that unpacks layers, shared by every pull (see unpack-worker.ts). Starting a
// worker costs a new V8 isolate and Node bootstrap (~100 ms of CPU on a small node, as much as
// unpacking a 20 MB layer), so one is started on the first layer and kept while layers come,
// then ended after a while without any: an idle daemon holds no worker. One thread is enough:
// with the main thread downloading and verifying beside it, a 2-core node is busy; more would
// only compete for the same cores.
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { FromWorker, ToWorker, WorkerStart } from "./worker-protocol.js";

const WORKER_FILE = path.join(__dirname, "unpack-worker.js");
/** How long an idle worker is kept for the next layer. */
const DEFAULT_IDLE_MS = 10_000;
/**
 * The worker's young generation: large enough that the chunks of the layers in flight die
 * young, without a scavenge every few hundred KiB.
 */
const YOUNG_GENERATION_MB = 32;
/** Spare input buffers kept while the worker runs: three layers' worth (worker-unpack.ts). */
const MAX_SPARE_BUFFERS = 36;

/** One unpack's side of the thread: its messages, and the news that the worker died. */
export interface UnpackClient {
  receive(m: FromWorker): void;
  lost(err: Error): void;
}

export class UnpackThread {
  private static instance: UnpackThread | undefined;
  private worker: Worker | undefined;
  private readonly clients = new Map<number, { client: UnpackClient; worker: Worker }>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Buffers of finished unpacks for the next ones (dropped with the worker when idle). */
  private spare: ArrayBuffer[] = [];
  /** Workers started so far (for tests). */
  started = 0;

  constructor(private idleMs = DEFAULT_IDLE_MS) {}

  /** The daemon's thread. */
  static shared(): UnpackThread {
    UnpackThread.instance ??= new UnpackThread();
    return UnpackThread.instance;
  }

  /** Whether a worker is running (for tests: none once idle). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Input buffers kept for the next unpacks (for tests). */
  get spareBuffers(): number {
    return this.spare.length;
  }

  /** How long an idle worker stays (tests shorten it). */
  setIdleMs(ms: number): void {
    this.idleMs = ms;
  }

  /** Starts an unpack in the worker (starting the worker if needed); returns its id. */
  open(client: UnpackClient, start: WorkerStart): number {
    const id = this.nextId++;
    const worker = this.ensureWorker();
    this.clients.set(id, { client, worker });
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    // While layers unpack, the worker keeps the process alive (nothing else may: a test).
    worker.ref();
    worker.postMessage({ t: "start", id, start } satisfies ToWorker);
    return id;
  }

  /** A buffer of `bytes` for an unpack's input: a spare one, else a new one. */
  takeBuffer(bytes: number): ArrayBuffer {
    const i = this.spare.findIndex((b) => b.byteLength === bytes);
    return i >= 0 ? this.spare.splice(i, 1)[0]! : new ArrayBuffer(bytes);
  }

  /** Keeps an unpack's buffer for the next unpack (a few layers' worth at most). */
  keepBuffer(buf: ArrayBuffer): void {
    if (this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(buf);
  }

  post(m: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker?.postMessage(m, transfer);
  }

  /** The unpack `id` is over; the worker forgets it. */
  release(id: number): void {
    if (!this.clients.delete(id)) return;
    this.worker?.postMessage({ t: "release", id } satisfies ToWorker);
    if (this.clients.size > 0) return;
    this.worker?.unref();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.stop(), this.idleMs);
    this.idleTimer.unref();
  }

  /** Ends the worker now; unpacks still under way fail. */
  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.spare = [];
    const w = this.worker;
    if (w === undefined) return;
    this.worker = undefined;
    this.fail(w, new Error("the unpack worker was stopped"));
    await w.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_FILE, {
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    this.started++;
    this.worker = w;
    w.on("message", (m: FromWorker) => this.clients.get(m.id)?.client.receive(m));
    // "error" is an uncaught exception in the worker, which then exits: its unpacks fail.
    w.on("error", (err) => this.fail(w, err));
    w.on("exit", (code) => this.fail(w, new Error(`the unpack worker exited with code ${code}`)));
    return w;
  }

  /** Worker `w` is gone: every unpack it had fails, and the next one starts a new worker. */
  private fail(w: Worker, err: Error): void {
    if (this.worker === w) this.worker = undefined;
    for (const [id, c] of this.clients) {
      if (c.worker !== w) continue;
      this.clients.delete(id);
      c.client.lost(err);
    }
  }
}
