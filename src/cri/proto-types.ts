// Client-side views of the API types: what a caller sends (loose input form) and receives
// (decoded output form), per method.
import type { MethodDefinition } from "@grpc/proto-loader";
import type { ImageServiceDefinition } from "../gen/runtime/v1/ImageService.js";
import type { RuntimeServiceDefinition } from "../gen/runtime/v1/RuntimeService.js";
import type { CriMethod, ImageMethod, RuntimeMethod } from "./proto.js";

type AllDefinitions = Pick<RuntimeServiceDefinition, RuntimeMethod> &
  Pick<ImageServiceDefinition, ImageMethod>;

/** What a client sends. */
export type RequestIn<K extends CriMethod> =
  AllDefinitions[K] extends MethodDefinition<infer R, infer _B, infer _C, infer _D> ? R : never;

/** What a client receives (defaults filled, int64 as decimal strings, enums as names). */
export type ResponseOut<K extends CriMethod> =
  AllDefinitions[K] extends MethodDefinition<infer _A, infer _B, infer _C, infer R> ? R : never;
