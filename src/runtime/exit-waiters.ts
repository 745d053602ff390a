// Lets a stop wait for the exit conmon records: the exit watcher calls `notify` for every exit,
// and `wait` resolves on it (or after a timeout, with false).
import type { ExitEvent } from "./oci/exit-watcher.js";

export class ExitWaiters {
  private readonly waiting = new Map<string, Set<(e: ExitEvent) => void>>();

  notify(e: ExitEvent): void {
    const set = this.waiting.get(e.id);
    if (!set) return;
    this.waiting.delete(e.id);
    for (const resolve of set) resolve(e);
  }

  /** Resolves with the exit, or undefined after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<ExitEvent | undefined> {
    return new Promise((resolve) => {
      let set = this.waiting.get(id);
      if (!set) {
        set = new Set();
        this.waiting.set(id, set);
      }
      const done = (e: ExitEvent | undefined) => {
        clearTimeout(timer);
        set.delete(done);
        resolve(e);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      set.add(done);
    });
  }
}
