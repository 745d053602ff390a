import { expect } from "chai";
import { PassThrough } from "node:stream";
import { ResizeParser, terminalSizes } from "../../../src/streaming/resize.js";
import type { TerminalSize } from "../../../src/streaming/types.js";

async function collect(it: AsyncIterable<TerminalSize>): Promise<TerminalSize[]> {
  const out: TerminalSize[] = [];
  for await (const s of it) out.push(s);
  return out;
}

describe("resize channel parsing", () => {
  it("reads one object per size, whatever the chunking", async () => {
    const text = '{"Width":80,"Height":24}\n{"Width":120,"Height":40} {"Width":1,"Height":2}';
    const want = [
      { width: 80, height: 24 },
      { width: 120, height: 40 },
      { width: 1, height: 2 },
    ];
    for (const size of [1, 2, 3, 7, 13, text.length]) {
      const p = new PassThrough();
      const got = collect(terminalSizes(p));
      for (let i = 0; i < text.length; i += size) p.write(text.slice(i, i + size));
      p.end();
      expect(await got, `chunks of ${size}`).to.deep.equal(want);
    }
  });

  it("splits a multi-byte character across chunks without harm", async () => {
    const p = new PassThrough();
    const got = collect(terminalSizes(p));
    const bytes = Buffer.from('{"Width":5,"Height":6,"x":"é"}');
    const cut = bytes.indexOf(Buffer.from("é")) + 1;
    p.write(bytes.subarray(0, cut));
    p.end(bytes.subarray(cut));
    expect(await got).to.deep.equal([{ width: 5, height: 6 }]);
  });

  it("matches field names case-insensitively and defaults missing ones to 0, as Go does", () => {
    const parser = new ResizeParser();
    expect(parser.push('{"width":10,"HEIGHT":20}{"Width":7}')).to.deep.equal([
      { width: 10, height: 20 },
      { width: 7, height: 0 },
    ]);
  });

  it("keeps braces inside strings from ending an object", () => {
    const parser = new ResizeParser();
    expect(parser.push('{"note":"}{\\"","Width":3,"Height":4}')).to.deep.equal([
      { width: 3, height: 4 },
    ]);
  });

  it("stops at the first value that is not a size (as kubelet's decoder does)", () => {
    const parser = new ResizeParser();
    expect(
      parser.push('{"Width":1,"Height":1}{"Width":-1,"Height":2}{"Width":3,"Height":3}'),
    ).to.deep.equal([{ width: 1, height: 1 }]);
    expect(parser.push('{"Width":4,"Height":4}')).to.deep.equal([]);
    const garbage = new ResizeParser();
    expect(garbage.push('nonsense{"Width":4,"Height":4}')).to.deep.equal([]);
    const tooBig = new ResizeParser();
    expect(tooBig.push('{"Width":70000,"Height":1}')).to.deep.equal([]);
  });

  it("ends when its stream is torn down", async () => {
    const p = new PassThrough();
    const got = collect(terminalSizes(p));
    p.write('{"Width":9,"Height":9}');
    await new Promise((r) => setTimeout(r, 10));
    p.destroy();
    expect(await got).to.deep.equal([{ width: 9, height: 9 }]);
  });
});
