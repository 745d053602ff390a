// A read/write lock per key (a pod sandbox id): many holders share it (CreateContainer,
// StartContainer in the pod) or one holds it alone (StopPodSandbox, RemovePodSandbox), so a
// container cannot be made in a pod while the pod is being torn down. Grants are in arrival
// order: a waiting exclusive holder keeps later shared ones waiting, so a stream of creates
// cannot starve a removal.
type Mode = "shared" | "exclusive";

interface Waiter {
  mode: Mode;
  grant: () => void;
}

interface KeyState {
  readers: number;
  writer: boolean;
  queue: Waiter[];
}

export class KeyedRwLock {
  private readonly keys = new Map<string, KeyState>();

  shared<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.run(key, "shared", fn);
  }

  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.run(key, "exclusive", fn);
  }

  /** Holders and waiters of a key, for tests. */
  holders(key: string): { readers: number; writer: boolean; waiting: number } {
    const s = this.keys.get(key);
    return { readers: s?.readers ?? 0, writer: s?.writer ?? false, waiting: s?.queue.length ?? 0 };
  }

  private async run<T>(key: string, mode: Mode, fn: () => Promise<T>): Promise<T> {
    await this.acquire(key, mode);
    try {
      return await fn();
    } finally {
      this.release(key, mode);
    }
  }

  private acquire(key: string, mode: Mode): Promise<void> {
    let s = this.keys.get(key);
    if (!s) {
      s = { readers: 0, writer: false, queue: [] };
      this.keys.set(key, s);
    }
    if (s.queue.length === 0 && this.canGrant(s, mode)) {
      this.take(s, mode);
      return Promise.resolve();
    }
    const state = s;
    return new Promise((resolve) => {
      state.queue.push({
        mode,
        grant: () => {
          this.take(state, mode);
          resolve();
        },
      });
    });
  }

  private canGrant(s: KeyState, mode: Mode): boolean {
    return mode === "shared" ? !s.writer : !s.writer && s.readers === 0;
  }

  private take(s: KeyState, mode: Mode): void {
    if (mode === "shared") s.readers++;
    else s.writer = true;
  }

  private release(key: string, mode: Mode): void {
    const s = this.keys.get(key);
    if (!s) return;
    if (mode === "shared") s.readers--;
    else s.writer = false;
    while (s.queue.length > 0 && this.canGrant(s, s.queue[0]!.mode)) {
      s.queue.shift()!.grant();
    }
    if (s.readers === 0 && !s.writer && s.queue.length === 0) this.keys.delete(key);
  }
}
