// Where a lifecycle RPC spends its time, step by step: `const t = steps.begin("RunPodSandbox")`,
// then `t.mark("network")` at the end of each step (the time since the previous mark or the
// begin is that step's), and `t.end()` when the operation is done (the time since the last mark
// is observed as step "rest"). A failed operation that never reaches end() records the steps it
// finished. Each segment goes to berth_operation_step_seconds{op,step}.

/** The one histogram method the timer needs (prom-client's Histogram has it). */
export interface StepObserver {
  observe(labels: { op: string; step: string }, seconds: number): void;
}

export interface StepSegment {
  step: string;
  seconds: number;
}

export class StepTimer {
  private last: bigint;
  private ended = false;
  /** The segments observed so far, in order. */
  readonly segments: StepSegment[] = [];

  constructor(
    readonly op: string,
    private readonly observer: StepObserver,
    private readonly now: () => bigint,
  ) {
    this.last = now();
  }

  /** Ends step `step` now. After end() it does nothing. */
  mark(step: string): void {
    if (this.ended) return;
    const t = this.now();
    const seconds = Number(t - this.last) / 1e9;
    this.last = t;
    this.segments.push({ step, seconds });
    this.observer.observe({ op: this.op, step }, seconds);
  }

  /** Ends the operation: the time since the last mark is step `step` (default "rest"). */
  end(step = "rest"): StepSegment[] {
    this.mark(step);
    this.ended = true;
    return this.segments;
  }
}

export class StepTimers {
  constructor(
    private readonly observer: StepObserver,
    private readonly now: () => bigint = () => process.hrtime.bigint(),
  ) {}

  begin(op: string): StepTimer {
    return new StepTimer(op, this.observer, this.now);
  }
}
