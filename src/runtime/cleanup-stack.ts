// Undo steps pushed while building something up (a sandbox, a container), run in reverse when
// a later step fails, as CRI-O's resource cleaner does. Undo failures are logged, never thrown
// over the original error.
import { errorMessage } from "../errors.js";
import type { Logger } from "../log.js";

export class CleanupStack {
  private readonly steps: { what: string; run: () => Promise<void> }[] = [];

  constructor(private readonly log: Logger) {}

  push(what: string, run: () => Promise<void>): void {
    this.steps.push({ what, run });
  }

  async unwind(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        this.log.warn({ step: step.what, err: errorMessage(err) }, "cleanup step failed");
      }
    }
  }

  /** Forgets the steps once the whole thing succeeded. */
  commit(): void {
    this.steps.length = 0;
  }
}
