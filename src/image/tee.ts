// A Writable that hands every chunk to two destinations (the same Buffer, no copy) and takes
// the next only when both have room: the slower one sets the pace. It finishes once both have
// finished; an error or early close of either destroys it, and destroying it destroys both.
import { Writable } from "node:stream";
import { finished } from "node:stream/promises";

export class Tee extends Writable {
  private readonly outs: readonly Writable[];

  constructor(a: Writable, b: Writable) {
    super();
    this.outs = [a, b];
    for (const w of this.outs) {
      w.once("error", (err: Error) => this.destroy(err));
      w.once("close", () => {
        if (!w.writableFinished) this.destroy(new Error("tee: a destination closed early"));
      });
    }
  }

  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    let waiting = 0;
    const drained = (): void => {
      if (--waiting === 0) cb();
    };
    for (const w of this.outs) {
      if (!w.write(chunk)) {
        waiting++;
        w.once("drain", drained);
      }
    }
    if (waiting === 0) cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    for (const w of this.outs) w.end();
    Promise.all(this.outs.map((w) => finished(w))).then(
      () => cb(),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    for (const w of this.outs) {
      if (!w.destroyed) w.destroy(err ?? undefined);
    }
    cb(err);
  }
}
