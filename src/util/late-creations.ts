// kubelet gives RunPodSandbox and CreateContainer a deadline (4 min by default) and, when it
// passes, retries the same request: same name. A first call that finishes after its deadline
// has made the object, but its client never heard the id; the retry would get ALREADY_EXISTS
// for the name, forever. As CRI-O's resource store does, berth remembers what such a late call
// made, and a retry of the same name is answered with that id — after waiting for the first
// call, when it is still running. A first call whose client did hear its answer keeps its
// name to itself: a second create of it is a real conflict.
export interface LateCreationsOptions {
  /** How long a late result waits for its retry (CRI-O: between 1 and 2 minutes). */
  keepMs?: number;
  now?: () => number;
}

interface InFlight {
  done: Promise<void>;
}

export class LateCreations {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly late = new Map<string, { id: string; at: number }>();
  private readonly keepMs: number;
  private readonly now: () => number;

  constructor(opts: LateCreationsOptions = {}) {
    this.keepMs = opts.keepMs ?? 120_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Runs `create` for `name` under the caller's `signal`, or answers a retry: the id a late
   * call made for `name` (if `exists` still says it is there), waiting first for a call of
   * that name still running (until this caller's own signal aborts).
   */
  async run(
    name: string,
    signal: AbortSignal | undefined,
    exists: (id: string) => boolean,
    create: () => Promise<string>,
  ): Promise<string> {
    const running = this.inFlight.get(name);
    if (running) await Promise.race([running.done, aborted(signal)]);
    const claimed = this.claim(name, exists);
    if (claimed !== undefined) return claimed;

    let finish!: () => void;
    const entry: InFlight = { done: new Promise<void>((r) => (finish = r)) };
    const first = !this.inFlight.has(name);
    if (first) this.inFlight.set(name, entry);
    try {
      const id = await create();
      // Nobody heard this answer: keep it for the retry.
      if (signal?.aborted) this.late.set(name, { id, at: this.now() });
      return id;
    } finally {
      if (first && this.inFlight.get(name) === entry) this.inFlight.delete(name);
      finish();
    }
  }

  /** Late results kept now, for tests. */
  get size(): number {
    this.expire();
    return this.late.size;
  }

  private claim(name: string, exists: (id: string) => boolean): string | undefined {
    this.expire();
    const l = this.late.get(name);
    if (!l) return undefined;
    this.late.delete(name);
    return exists(l.id) ? l.id : undefined;
  }

  private expire(): void {
    const now = this.now();
    for (const [name, l] of this.late) if (now - l.at > this.keepMs) this.late.delete(name);
  }
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise<void>(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
}
