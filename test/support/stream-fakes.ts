// Stand-ins for a streaming transport's side of a session: a Writable that keeps what it gets
// and a hand-fed stream of terminal sizes.
import { Writable } from "node:stream";
import type { TerminalSize } from "../../src/streaming/types.js";

/** A Writable that keeps everything written to it. */
export class Sink extends Writable {
  private chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    this.emit("chunk");
    cb();
  }
  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get text(): string {
    return this.buffer.toString("utf8");
  }
  /** Resolves once the collected text matches `re`. */
  waitFor(re: RegExp, timeoutMs = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (!re.test(this.text)) return false;
        clearTimeout(timer);
        this.off("chunk", check);
        resolve(this.text);
        return true;
      };
      const timer = setTimeout(() => {
        this.off("chunk", check);
        reject(new Error(`timed out waiting for ${String(re)}; got ${JSON.stringify(this.text)}`));
      }, timeoutMs);
      if (!check()) this.on("chunk", check);
    });
  }
}

/** An async iterable of terminal sizes fed by hand. */
export class SizeQueue implements AsyncIterable<TerminalSize> {
  private items: TerminalSize[] = [];
  private waiting: ((r: IteratorResult<TerminalSize>) => void) | undefined;
  private ended = false;
  push(size: TerminalSize): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ done: false, value: size });
    } else this.items.push(size);
  }
  end(): void {
    this.ended = true;
    this.waiting?.({ done: true, value: undefined });
    this.waiting = undefined;
  }
  [Symbol.asyncIterator](): AsyncIterator<TerminalSize> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item) return Promise.resolve({ done: false, value: item });
        if (this.ended) return Promise.resolve({ done: true, value: undefined });
        return new Promise((r) => (this.waiting = r));
      },
      return: () => {
        this.end();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }
}
