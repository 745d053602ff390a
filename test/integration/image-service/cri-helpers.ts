// Small helpers over berthd's image service for these tests: the verbose ImageStatus info,
// ImageFsInfo's used bytes, what the content store holds, and gRPC failures as plain data.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import type { Berthd } from "../../support/berthd.js";

export interface VerboseImageInfo {
  chainID: string;
  manifestDigest: string;
  imageSpec: { config?: Record<string, unknown>; rootfs: { diff_ids: string[] } };
  layers: { digest: string; chainId: string }[];
}

export interface CallFailure {
  code: number;
  codeName: string;
  details: string;
  ms: number;
}

/** Awaits `p`, which must fail; returns its gRPC status, and how long it took. */
export async function failureOf(p: Promise<unknown>): Promise<CallFailure> {
  const t0 = Date.now();
  try {
    await p;
  } catch (err) {
    const e = err as { code?: unknown; details?: unknown };
    if (typeof e.code !== "number") throw err;
    return {
      code: e.code,
      codeName: status[e.code] ?? String(e.code),
      details: typeof e.details === "string" ? e.details : "",
      ms: Date.now() - t0,
    };
  }
  expect.fail("the call should have failed");
}

export async function verboseInfo(b: Berthd, image: string): Promise<VerboseImageInfo> {
  const res = await b.client.call.ImageStatus({ image: { image }, verbose: true });
  expect(res.image, `ImageStatus of ${image}`).to.not.equal(null);
  const raw = res.info.info;
  expect(raw, "verbose info").to.be.a("string");
  return JSON.parse(raw ?? "{}") as VerboseImageInfo;
}

export async function imageFsUsed(b: Berthd): Promise<bigint> {
  const res = await b.client.call.ImageFsInfo({});
  const fsUsage = res.image_filesystems[0];
  expect(fsUsage?.fs_id?.mountpoint).to.equal(b.root);
  return BigInt(fsUsage?.used_bytes?.value ?? "0");
}

export async function listIds(b: Berthd): Promise<string[]> {
  const res = await b.client.call.ListImages({});
  return res.images.map((i) => i.id).sort();
}

/** Files left in `<root>/content/ingest` (partial downloads). */
export async function ingestEntries(root: string): Promise<string[]> {
  return fs.readdir(path.join(root, "content", "ingest"));
}

/** Digests in `<root>/content/blobs`. */
export async function storedBlobs(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const alg of ["sha256", "sha512"]) {
    const names = await fs.readdir(path.join(root, "content", "blobs", alg)).catch(() => []);
    out.push(...names.map((n) => `${alg}:${n}`));
  }
  return out.sort();
}

/** The value of a counter sample line (`name{labels} value`) in Prometheus text; 0 if absent. */
export function metricValue(text: string, sample: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return 0;
}
