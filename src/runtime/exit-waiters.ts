// Lets a stop wait for the exit conmon records: the exit watcher calls `notify` for every exit,
// and `wait` resolves on it (or after a timeout, with undefined).
//
// An exit is also kept for a while after it is notified: recording it takes a few awaits
// (leftover processes, the OOM check, the record write), and a StopContainer that reads the
// record in that window still sees RUNNING. Its wait, begun after the notify, then gets the
// exit at once instead of timing out and killing a process that is gone.
import type { ExitEvent } from "./oci/exit-watcher.js";

/** How long a notified exit answers later waits; recording it takes milliseconds. */
const KEEP_MS = 60_000;

export class ExitWaiters {
  private readonly waiting = new Map<string, Set<(e: ExitEvent) => void>>();
  private readonly recent = new Map<string, ExitEvent>();

  notify(e: ExitEvent): void {
    this.recent.set(e.id, e);
    setTimeout(() => {
      if (this.recent.get(e.id) === e) this.recent.delete(e.id);
    }, KEEP_MS).unref();
    const set = this.waiting.get(e.id);
    if (!set) return;
    this.waiting.delete(e.id);
    for (const resolve of set) resolve(e);
  }

  /** Resolves with the exit (one notified already, or the next), or undefined after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<ExitEvent | undefined> {
    const seen = this.recent.get(id);
    if (seen !== undefined) return Promise.resolve(seen);
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
