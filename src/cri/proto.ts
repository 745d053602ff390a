// The CRI v1 API as grpc-js service definitions, built with protobufjs the way @grpc/proto-loader
// would: snake_case fields, int64 as decimal strings (never rounded), enums as names, defaults
// filled on decoded messages. berthd reads the API from its JSON descriptor, generated from
// proto/runtime/v1/api.proto at build (scripts/gen-proto-descriptor.mjs): loading it takes 10 ms
// here, parsing the .proto at every start took 17-24 ms. proto-loader itself also loads
// google/protobuf/descriptor.proto and encodes a file descriptor for every type, for reflection
// berth does not serve (~6 MB of idle RSS and ~100 ms of start). For the same reason berthd loads
// protobufjs's light build, without the .proto parser.
import "./long-without-wasm.js";
import * as path from "node:path";
import type * as grpc from "@grpc/grpc-js";
import type * as protoLoader from "@grpc/proto-loader";
import type { MethodDefinition } from "@grpc/proto-loader";
import * as protobuf from "protobufjs/light";
import { API_DESCRIPTOR } from "../gen/api-descriptor.js";
import type { ImageServiceDefinition } from "../gen/runtime/v1/ImageService.js";
import type { RuntimeServiceDefinition } from "../gen/runtime/v1/RuntimeService.js";
import { repoRoot } from "../repo-root.js";

export const PROTO_PATH = path.join(repoRoot(), "proto", "runtime", "v1", "api.proto");

/** proto-loader's options for this API (the fuzz tests load it with proto-loader). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** How decoded messages are turned into plain objects (LOADER_OPTIONS' conversion part). */
const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface CriDefinitions {
  runtime: RuntimeServiceDefinition;
  image: ImageServiceDefinition;
}

function serializer(type: protobuf.Type): grpc.serialize<unknown> {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`${type.name}: an array is not a message`);
    const out = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
    // protobufjs writes into a Buffer under node; a view, not a copy, otherwise.
    return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  };
}

function deserializer(type: protobuf.Type): grpc.deserialize<unknown> {
  return (buf) => type.toObject(type.decode(buf), TO_OBJECT);
}

function serviceDefinition(root: protobuf.Root, name: string): grpc.ServiceDefinition {
  const service = root.lookupService(name);
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methodsArray) {
    const req = m.resolvedRequestType;
    const res = m.resolvedResponseType;
    if (!req || !res) throw new Error(`${name}.${m.name}: message types not resolved`);
    def[m.name] = {
      path: `/${name}/${m.name}`,
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
      requestSerialize: serializer(req),
      requestDeserialize: deserializer(req),
      responseSerialize: serializer(res),
      responseDeserialize: deserializer(res),
    };
  }
  return def;
}

/** The API parsed from its .proto file (what the generated descriptor is checked against). */
export function parseCriProto(protoPath = PROTO_PATH): protobuf.Root {
  // The .proto parser is only in protobufjs's full build; berthd itself loads the light one.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const full = require("protobufjs") as typeof protobuf;
  const root = new full.Root().loadSync(protoPath, { keepCase: true });
  root.resolveAll();
  return root;
}

/** The API from the descriptor generated at build. */
export function criRoot(): protobuf.Root {
  const root = protobuf.Root.fromJSON(API_DESCRIPTOR as protobuf.INamespace);
  root.resolveAll();
  return root;
}

/** grpc-js definitions of both services, from the descriptor generated at build. */
export function loadCriDefinitions(): CriDefinitions {
  const root = criRoot();
  return {
    runtime: serviceDefinition(
      root,
      "runtime.v1.RuntimeService",
    ) as unknown as RuntimeServiceDefinition,
    image: serviceDefinition(root, "runtime.v1.ImageService") as unknown as ImageServiceDefinition,
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
