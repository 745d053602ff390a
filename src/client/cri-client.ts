// A typed CRI client over the unix socket, for tests, benchmarks and debugging: every method of
// both services as a promise (server streams are collected into an array).
import * as grpc from "@grpc/grpc-js";
import {
  type CriDefinitions,
  type CriMethod,
  type StreamingMethod,
  STREAMING_METHODS,
  loadCriDefinitions,
} from "../cri/proto.js";
import type { RequestIn, ResponseOut } from "../cri/proto-types.js";
import { MAX_MESSAGE_BYTES } from "../cri/server.js";

export interface CallOpts {
  /** Deadline in milliseconds from now. */
  timeoutMs?: number;
}

export type CriClientMethods = {
  [K in CriMethod]: (
    req: RequestIn<K>,
    opts?: CallOpts,
  ) => Promise<K extends StreamingMethod ? ResponseOut<K>[] : ResponseOut<K>>;
};

export class CriClient {
  readonly grpcClient: grpc.Client;
  readonly call: CriClientMethods;

  constructor(
    socketPath: string,
    private readonly defs: CriDefinitions = loadCriDefinitions(),
  ) {
    this.grpcClient = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    });
    const table: Record<string, unknown> = {};
    for (const def of [defs.runtime, defs.image]) {
      for (const [name, md] of Object.entries(def)) {
        table[name] = (req: unknown, opts: CallOpts = {}) =>
          (STREAMING_METHODS as readonly string[]).includes(name)
            ? this.stream(md, req, opts)
            : this.unary(md, req, opts);
      }
    }
    this.call = table as CriClientMethods;
  }

  private options(opts: CallOpts): grpc.CallOptions {
    return opts.timeoutMs !== undefined ? { deadline: Date.now() + opts.timeoutMs } : {};
  }

  private unary(
    md: grpc.MethodDefinition<unknown, unknown>,
    req: unknown,
    opts: CallOpts,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.grpcClient.makeUnaryRequest(
        md.path,
        md.requestSerialize,
        md.responseDeserialize,
        req,
        new grpc.Metadata(),
        this.options(opts),
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  private stream(
    md: grpc.MethodDefinition<unknown, unknown>,
    req: unknown,
    opts: CallOpts,
  ): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const out: unknown[] = [];
      const s = this.grpcClient.makeServerStreamRequest(
        md.path,
        md.requestSerialize,
        md.responseDeserialize,
        req,
        new grpc.Metadata(),
        this.options(opts),
      );
      s.on("data", (m: unknown) => out.push(m));
      s.on("error", reject);
      s.on("end", () => resolve(out));
    });
  }

  /**
   * Opens a server stream and hands each message to `onData` as it arrives (for streams that do
   * not end, like GetContainerEvents). Returns a function that cancels it.
   */
  watch<K extends StreamingMethod>(
    method: K,
    req: RequestIn<K>,
    onData: (msg: ResponseOut<K>) => void,
    onError: (err: Error) => void = () => undefined,
  ): () => void {
    const md = this.defs.runtime[method as keyof typeof this.defs.runtime] as
      grpc.MethodDefinition<unknown, unknown> | undefined;
    const def =
      md ??
      (this.defs.image[method as keyof typeof this.defs.image] as grpc.MethodDefinition<
        unknown,
        unknown
      >);
    const s = this.grpcClient.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      req,
      new grpc.Metadata(),
      {},
    );
    s.on("data", (m: ResponseOut<K>) => onData(m));
    s.on("error", (e: Error & { code?: number }) => {
      if (e.code !== grpc.status.CANCELLED) onError(e);
    });
    return () => s.cancel();
  }

  /** Sends raw bytes to a method path (for malformed-input tests). */
  rawUnary(methodPath: string, body: Buffer, opts: CallOpts = {}): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.grpcClient.makeUnaryRequest(
        methodPath,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        new grpc.Metadata(),
        this.options(opts),
        (err, res) => (err || !res ? reject(err ?? new Error("no response")) : resolve(res)),
      );
    });
  }

  close(): void {
    this.grpcClient.close();
  }
}
