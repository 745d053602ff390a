// Unpacks one layer blob (gzip, zstd or plain tar) into an empty directory that becomes an
// overlayfs lower dir, and computes the layer's diff ID (sha256 of the uncompressed tar) on the
// way. A layer that tries to write outside the directory throws UnsafeLayerEntryError; the
// caller removes the partial directory.
import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import { pipeline, type Readable } from "node:stream";
import * as tar from "tar-stream";
import {
  BerthError,
  FailedPreconditionError,
  InvalidArgumentError,
  errorMessage,
} from "../../errors.js";
import type { Logger } from "../../log.js";
import type { CommandRunner } from "../../util/command.js";
import {
  compressionOfMagic,
  compressionOfMediaType,
  createDecompressor,
  type Compression,
} from "./compression.js";
import { LayerWriter } from "./layer-writer.js";

export interface UnpackLayerOptions {
  /** Path of the (compressed) layer blob. */
  blob: string;
  mediaType: string;
  /** An existing, empty directory. */
  target: string;
  runner: CommandRunner;
  logger: Logger;
  /** Defaults to "running as root". Without it owners are not set and devices are skipped. */
  privileged?: boolean;
  /** Lower layers' dirs, topmost first: parent dirs the tar leaves out copy their metadata. */
  parents?: readonly string[];
}

export interface UnpackLayerResult {
  /** "sha256:<hex>" of the uncompressed tar stream. */
  diffId: string;
  compression: Compression;
  /** Bytes of regular file content written. */
  size: bigint;
  /** Inodes created. */
  inodes: number;
}

export async function unpackLayer(opts: UnpackLayerOptions): Promise<UnpackLayerResult> {
  const { blob, target, logger } = opts;
  const leftovers = await fs.readdir(target);
  if (leftovers.length > 0) throw new InvalidArgumentError("target", `${target} is not empty`);
  const compression = await chooseCompression(blob, opts.mediaType, logger);
  const writer = new LayerWriter({
    root: target,
    runner: opts.runner,
    logger,
    privileged: opts.privileged ?? process.getuid?.() === 0,
    parents: opts.parents ?? [],
  });
  const hash = createHash("sha256");
  const source = createReadStream(blob);
  const plain = pipeline(source, createDecompressor(compression), () => undefined);
  const extract = tar.extract();

  const feeding = feed(plain, extract, (chunk) => hash.update(chunk));
  const writing = (async () => {
    try {
      for await (const entry of extract) await writer.write(entry.header, entry);
    } finally {
      // Stop reading the blob as soon as the writer is done or has failed.
      plain.destroy();
    }
  })();
  const [fed, wrote] = await Promise.allSettled([feeding, writing]);
  // The writer's error names the entry at fault; prefer it over the stream error it causes.
  if (wrote.status === "rejected") throw layerError(blob, wrote.reason);
  if (fed.status === "rejected") throw layerError(blob, fed.reason);
  await writer.finish().catch((err: unknown) => {
    throw layerError(blob, err);
  });
  return {
    diffId: `sha256:${hash.digest("hex")}`,
    compression,
    size: writer.size,
    inodes: writer.inodes,
  };
}

async function chooseCompression(
  blob: string,
  mediaType: string,
  logger: Logger,
): Promise<Compression> {
  const fh = await fs.open(blob, "r");
  let head: Buffer;
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const announced = compressionOfMediaType(mediaType);
  const actual = compressionOfMagic(head);
  if (announced === undefined) {
    logger.debug(
      { blob, mediaType, compression: actual },
      "unknown layer media type; using magic bytes",
    );
  } else if (announced !== actual) {
    logger.warn(
      { blob, mediaType, compression: actual },
      "layer media type disagrees with its content",
    );
  }
  return actual;
}

/** Copies the uncompressed stream into the tar parser, honouring its backpressure. */
async function feed(
  plain: Readable,
  extract: tar.Extract,
  tap: (chunk: Buffer) => void,
): Promise<void> {
  try {
    for await (const chunk of plain) {
      const buf = chunk as Buffer;
      tap(buf);
      if (extract.destroyed) return;
      if (!extract.write(buf)) await drained(extract);
    }
    extract.end(undefined);
  } catch (err) {
    extract.destroy(err instanceof Error ? err : new Error(errorMessage(err)));
    throw err;
  }
}

function drained(w: tar.Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      w.off("drain", done);
      w.off("close", done);
      w.off("error", done);
      resolve();
    };
    w.on("drain", done);
    w.on("close", done);
    w.on("error", done);
  });
}

function layerError(blob: string, err: unknown): Error {
  if (err instanceof BerthError) return err;
  return new FailedPreconditionError(`cannot unpack layer ${blob}: ${errorMessage(err)}`, {
    cause: err,
  });
}
