// The CRI gRPC server: both runtime.v1 services on one grpc-js server, every method of the
// proto bound — to berth's handler through the instrument wrapper, or to an UNIMPLEMENTED
// answer that names the RPC.
import * as grpc from "@grpc/grpc-js";
import { UnimplementedError } from "../errors.js";
import type { CriHandlers } from "./handlers.js";
import { type InstrumentDeps, instrumentStream, instrumentUnary } from "./instrument.js";
import type { CriDefinitions } from "./proto.js";

/** kubelet's limit; the Stream* list RPCs exist because of it. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export const SERVICE_NAMES = {
  runtime: "runtime.v1.RuntimeService",
  image: "runtime.v1.ImageService",
} as const;

function bindService(
  def: grpc.ServiceDefinition,
  service: string,
  handlers: CriHandlers,
  deps: InstrumentDeps,
): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  const table = handlers as Record<string, unknown>;
  for (const [method, md] of Object.entries(def)) {
    const given = table[method] as ((req: unknown, ctx: unknown) => unknown) | undefined;
    const fallback = () => {
      throw new UnimplementedError(`${method} is not implemented by berth yet`);
    };
    if (md.responseStream) {
      const fn =
        given ??
        async function* () {
          yield* [];
          fallback();
        };
      impl[method] = instrumentStream(deps, service, method, fn as never);
    } else {
      const fn = given ?? (async () => fallback());
      const encoder = { serialize: md.responseSerialize, maxBytes: MAX_MESSAGE_BYTES };
      impl[method] = instrumentUnary(deps, service, method, fn as never, encoder as never);
    }
  }
  return impl;
}

/**
 * The definition with reply serializers that let an already encoded reply (a Buffer, from the
 * instrument wrapper's size check) through as it is.
 */
function passEncodedReplies(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(def).map(([method, md]) => {
      const serialize = md.responseSerialize;
      const pass = (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value));
      return [method, { ...md, responseSerialize: pass }];
    }),
  );
}

export function createCriServer(
  defs: CriDefinitions,
  handlers: CriHandlers,
  deps: InstrumentDeps,
): grpc.Server {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  for (const [def, name] of [
    [defs.runtime, SERVICE_NAMES.runtime],
    [defs.image, SERVICE_NAMES.image],
  ] as const) {
    server.addService(passEncodedReplies(def), bindService(def, name, handlers, deps));
  }
  return server;
}

/** Binds a unix socket; resolves when listening. */
export function bindUnix(server: grpc.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}
