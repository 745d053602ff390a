// Content digests (`sha256:<hex>`): parsing, computing, and a pass-through stream that verifies
// the bytes flowing through it against an expected digest and size.
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { InternalError, InvalidArgumentError } from "../../errors.js";

export type DigestAlgorithm = "sha256" | "sha512";

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

const PATTERNS: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

/** Parses `alg:hex`; throws InvalidArgumentError(field, ...) on anything else. */
export function parseDigest(digest: string, field = "digest"): ParsedDigest {
  const i = digest.indexOf(":");
  const algorithm = digest.slice(0, i);
  const hex = digest.slice(i + 1);
  if (
    i < 0 ||
    (algorithm !== "sha256" && algorithm !== "sha512") ||
    !PATTERNS[algorithm].test(hex)
  ) {
    throw new InvalidArgumentError(field, `unsupported or malformed digest "${digest}"`);
  }
  return { algorithm, hex };
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** The digest of `data` computed with the same algorithm as `like`. */
export function digestLike(like: string, data: Buffer): string {
  const { algorithm } = parseDigest(like);
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`;
}

/** Raised when content does not match the digest or size it was announced with. */
export class DigestMismatchError extends InternalError {
  constructor(message: string) {
    super(message);
  }
}

/** Throws DigestMismatchError unless `data` has the expected digest (and size, when given). */
export function verifyBytes(
  data: Buffer,
  digest: string,
  size: number | undefined,
  what: string,
): void {
  if (size !== undefined && data.length !== size) {
    throw new DigestMismatchError(`${what}: size ${data.length} does not match expected ${size}`);
  }
  const actual = digestLike(digest, data);
  if (actual !== digest) {
    throw new DigestMismatchError(`${what}: digest ${actual} does not match expected ${digest}`);
  }
}

/**
 * Passes bytes through unchanged, hashing and counting them. Errors with DigestMismatchError as
 * soon as more than `size` bytes arrive, and at the end when the count or digest differ, so a
 * consumer never sees a clean end of stream for bad content.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private count = 0;

  constructor(
    /** What the bytes must hash to (a consumer may rely on this check instead of its own). */
    readonly digest: string,
    readonly size: number,
    private readonly what: string,
  ) {
    super();
    this.hash = createHash(parseDigest(digest).algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.count += chunk.length;
    if (this.count > this.size) {
      cb(new DigestMismatchError(`${this.what}: more than the expected ${this.size} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.count !== this.size) {
      cb(new DigestMismatchError(`${this.what}: got ${this.count} bytes, expected ${this.size}`));
      return;
    }
    const actual = `${parseDigest(this.digest).algorithm}:${this.hash.digest("hex")}`;
    if (actual !== this.digest) {
      cb(
        new DigestMismatchError(
          `${this.what}: digest ${actual} does not match expected ${this.digest}`,
        ),
      );
      return;
    }
    cb();
  }
}
