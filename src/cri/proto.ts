// Loads the CRI v1 API from proto/runtime/v1/api.proto. Options match the generated types in
// src/gen: snake_case fields, int64 as decimal strings (never rounded), enums as names,
// defaults filled on decoded messages.
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { MethodDefinition } from "@grpc/proto-loader";
import type { ImageServiceDefinition } from "../gen/runtime/v1/ImageService.js";
import type { RuntimeServiceDefinition } from "../gen/runtime/v1/RuntimeService.js";
import { repoRoot } from "../repo-root.js";

export const PROTO_PATH = path.join(repoRoot(), "proto", "runtime", "v1", "api.proto");

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface CriDefinitions {
  runtime: RuntimeServiceDefinition;
  image: ImageServiceDefinition;
}

export function loadCriDefinitions(protoPath = PROTO_PATH): CriDefinitions {
  const pkg = protoLoader.loadSync(protoPath, LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
    runtime: { v1: Record<string, { service: grpc.ServiceDefinition }> };
  };
  const runtime = loaded.runtime.v1.RuntimeService?.service;
  const image = loaded.runtime.v1.ImageService?.service;
  if (!runtime || !image) throw new Error(`${protoPath}: runtime.v1 services missing`);
  return {
    runtime: runtime as unknown as RuntimeServiceDefinition,
    image: image as unknown as ImageServiceDefinition,
  };
}

/** Keys of an interface without its index signature. */
type KnownKeys<T> = keyof {
  [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K];
};

export type RuntimeMethod = KnownKeys<RuntimeServiceDefinition>;
export type ImageMethod = KnownKeys<ImageServiceDefinition>;
export type CriMethod = RuntimeMethod | ImageMethod;

type AllDefinitions = Pick<RuntimeServiceDefinition, RuntimeMethod> &
  Pick<ImageServiceDefinition, ImageMethod>;

/** The decoded request type of a method (defaults filled, int64 as strings). */
export type RequestOf<K extends CriMethod> =
  AllDefinitions[K] extends MethodDefinition<infer _A, infer _B, infer R, infer _D> ? R : never;

/** The response type a handler returns (the loose "input" form: optional fields). */
export type ResponseOf<K extends CriMethod> =
  AllDefinitions[K] extends MethodDefinition<infer _A, infer R, infer _C, infer _D> ? R : never;

/** Server-streaming methods of the API. */
export const STREAMING_METHODS = [
  "StreamPodSandboxes",
  "StreamContainers",
  "StreamContainerStats",
  "StreamPodSandboxStats",
  "StreamPodSandboxMetrics",
  "GetContainerEvents",
  "StreamImages",
] as const satisfies readonly CriMethod[];

export type StreamingMethod = (typeof STREAMING_METHODS)[number];
