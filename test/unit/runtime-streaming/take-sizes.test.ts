// takeSizes: the client's first terminal size (waited for briefly) and the ones after it.
import { expect } from "chai";
import { DEFAULT_TERMINAL_SIZE, takeSizes } from "../../../src/runtime/streaming/tty-exec.js";
import type { TerminalSize } from "../../../src/streaming/types.js";
import { SizeQueue } from "../../support/stream-fakes.js";

describe("takeSizes", () => {
  it("starts at 80x24 without a resize stream", async () => {
    const s = await takeSizes(undefined);
    expect(s.initial).to.deep.equal(DEFAULT_TERMINAL_SIZE);
    expect(s.given).to.equal(false);
  });

  it("takes the first size as the initial one and passes on the later ones", async () => {
    const q = new SizeQueue();
    q.push({ width: 100, height: 30 });
    const s = await takeSizes(q);
    expect(s.initial).to.deep.equal({ width: 100, height: 30 });
    expect(s.given).to.equal(true);
    const seen: TerminalSize[] = [];
    s.follow((z) => seen.push(z));
    q.push({ width: 0, height: 10 }); // not a size: skipped
    q.push({ width: 120, height: 40 });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).to.deep.equal([{ width: 120, height: 40 }]);
    s.stop();
    q.push({ width: 1, height: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).to.have.length(1);
  });

  it("starts at the default when the stream ends at once", async () => {
    const q = new SizeQueue();
    q.end();
    const t0 = Date.now();
    const s = await takeSizes(q);
    expect(Date.now() - t0).to.be.lessThan(500);
    expect(s.initial).to.deep.equal(DEFAULT_TERMINAL_SIZE);
  });

  it("waits about a second for a first size, then goes on and still follows late ones", async () => {
    const q = new SizeQueue();
    const t0 = Date.now();
    const s = await takeSizes(q);
    expect(Date.now() - t0).to.be.within(900, 3000);
    expect(s.given).to.equal(false);
    const seen: TerminalSize[] = [];
    s.follow((z) => seen.push(z));
    q.push({ width: 90, height: 20 });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).to.deep.equal([{ width: 90, height: 20 }]);
    s.stop();
  });
});
