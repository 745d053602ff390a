// A Node Transform around fzstd's streaming decompressor (Node 20's zlib has no zstd).
import { Transform } from "node:stream";
import { Decompress } from "fzstd";

export function createZstdDecompressor(): Transform {
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (err) {
        callback(asError(err));
      }
    },
    flush(callback) {
      try {
        decoder.push(new Uint8Array(0), true);
        callback();
      } catch (err) {
        callback(asError(err));
      }
    },
  });
  // fzstd may hand out views of its own window buffer, which it reuses: copy each chunk.
  const decoder = new Decompress((data) => {
    if (data.length > 0) transform.push(Buffer.from(data));
  });
  return transform;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`zstd: ${String(err)}`);
}
