import { expect } from "chai";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import {
  compressionOfMagic,
  compressionOfMediaType,
  createDecompressor,
  type Compression,
} from "../../../src/image/unpack/compression.js";

// Made with the zstd CLI: "hello zstd world\n" x 50 (850 bytes), one frame at level 19, and the
// same frame followed by a second one holding "second frame\n".
const ONE_FRAME = "KLUv/WRSAsUAAIhoZWxsbyB6c3RkIHdvcmxkCgEAfVI1lxskHIU=";
const TWO_FRAMES =
  "KLUv/WRSAsUAAIhoZWxsbyB6c3RkIHdvcmxkCgEAfVI1lxskHIUotS/9BFhpAABzZWNvbmQgZnJhbWUKnjlzqw==";
const TEXT = "hello zstd world\n".repeat(50);

async function decompress(kind: Compression, data: Buffer, chunk = 7): Promise<string> {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(parts).pipe(createDecompressor(kind))) out.push(c as Buffer);
  return Buffer.concat(out).toString("utf8");
}

describe("image unpack: compression", function () {
  it("reads the compression a layer media type announces", function () {
    expect(compressionOfMediaType("application/vnd.oci.image.layer.v1.tar+gzip")).to.equal("gzip");
    expect(compressionOfMediaType("application/vnd.oci.image.layer.v1.tar+zstd")).to.equal("zstd");
    expect(compressionOfMediaType("application/vnd.oci.image.layer.v1.tar")).to.equal("none");
    expect(compressionOfMediaType("application/vnd.docker.image.rootfs.diff.tar.gzip")).to.equal(
      "gzip",
    );
    expect(
      compressionOfMediaType("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
    ).to.equal("gzip");
    expect(
      compressionOfMediaType("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"),
    ).to.equal("zstd");
    expect(compressionOfMediaType("application/vnd.oci.image.config.v1+json")).to.equal(undefined);
  });

  it("recognises gzip and zstd by their magic bytes", function () {
    expect(compressionOfMagic(Buffer.from([0x1f, 0x8b, 8, 0]))).to.equal("gzip");
    expect(compressionOfMagic(Buffer.from(ONE_FRAME, "base64"))).to.equal("zstd");
    expect(compressionOfMagic(Buffer.from("ustar"))).to.equal("none");
    expect(compressionOfMagic(Buffer.from([0x1f]))).to.equal("none");
    expect(compressionOfMagic(Buffer.alloc(0))).to.equal("none");
  });

  it("decompresses zstd streams fed in small chunks, across frames", async function () {
    expect(await decompress("zstd", Buffer.from(ONE_FRAME, "base64"))).to.equal(TEXT);
    expect(await decompress("zstd", Buffer.from(TWO_FRAMES, "base64"), 1)).to.equal(
      TEXT + "second frame\n",
    );
  });

  it("fails on truncated zstd data", async function () {
    const cut = Buffer.from(ONE_FRAME, "base64").subarray(0, 20);
    let caught: unknown;
    await decompress("zstd", cut).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(Error);
  });

  it("decompresses gzip and passes plain data through", async function () {
    expect(await decompress("gzip", gzipSync(TEXT))).to.equal(TEXT);
    expect(await decompress("none", Buffer.from(TEXT))).to.equal(TEXT);
  });
});
