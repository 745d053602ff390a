// berth builds grpc-js's service definitions from protobufjs itself (src/cri/proto.ts) instead
// of through @grpc/proto-loader; the wire and the decoded objects must stay exactly what
// proto-loader gives: checked method by method, on random requests and replies with hostile
// values (the fuzz suite's generator). The definitions come from the JSON descriptor generated
// at build; it must be exactly what parsing the .proto gives.
import * as protoLoader from "@grpc/proto-loader";
import { expect } from "chai";
import {
  criRoot,
  LOADER_OPTIONS,
  loadCriDefinitions,
  parseCriProto,
  PROTO_PATH,
} from "../../../src/cri/proto.js";
import { MessageGen } from "../../integration/fuzz/message-gen.js";
import { Prng } from "../../integration/fuzz/prng.js";

type Md = protoLoader.MethodDefinition<unknown, unknown>;
type MessageDesc = Parameters<MessageGen["message"]>[0];

const SERVICES = { runtime: "runtime.v1.RuntimeService", image: "runtime.v1.ImageService" };
const SAMPLES = 25;

/** The outcome of a serializer: its bytes, or the error it threw. */
function encodeOutcome(serialize: (v: unknown) => Buffer, value: unknown): string {
  try {
    return serialize(value).toString("hex");
  } catch (err) {
    return `throws ${String(err)}`;
  }
}

describe("CRI service definitions (protobufjs, without proto-loader)", () => {
  const ours = loadCriDefinitions();

  it("loads the descriptor generated at build, which is the .proto's, type for type", () => {
    const generated = criRoot();
    expect(generated.toJSON()).to.deep.equal(parseCriProto().toJSON());
    const pod = generated.lookupType("runtime.v1.PodSandboxConfig");
    expect(pod.fields["port_mappings"]?.repeated).to.equal(true);
  });

  const pkg = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  const theirs = (service: keyof typeof SERVICES) =>
    pkg[SERVICES[service]] as unknown as Record<string, Md>;

  for (const service of ["runtime", "image"] as const) {
    it(`has proto-loader's ${service} methods, paths and stream flags`, () => {
      const mine = ours[service] as unknown as Record<string, Md>;
      expect(Object.keys(mine).sort()).to.deep.equal(Object.keys(theirs(service)).sort());
      for (const [name, md] of Object.entries(theirs(service))) {
        const m = mine[name]!;
        expect([m.path, m.requestStream, m.responseStream], name).to.deep.equal([
          md.path,
          md.requestStream,
          md.responseStream,
        ]);
      }
    });

    it(`encodes and decodes ${service} requests and replies as proto-loader does`, () => {
      const gen = new MessageGen(new Prng(12), () => ["abc", "0123456789abcdef"]);
      const mine = ours[service] as unknown as Record<string, Md>;
      let compared = 0;
      for (const [name, md] of Object.entries(theirs(service))) {
        const m = mine[name]!;
        const sides = [
          [md.requestType, md.requestSerialize, md.requestDeserialize, m.requestSerialize],
          [md.responseType, md.responseSerialize, md.responseDeserialize, m.responseSerialize],
        ] as const;
        const decoders = [m.requestDeserialize, m.responseDeserialize];
        sides.forEach(([type, theirEncode, theirDecode, myEncode], i) => {
          const desc = type.type as unknown as MessageDesc;
          for (let n = 0; n < SAMPLES; n++) {
            const value = n === 0 ? {} : gen.message(desc);
            const expected = encodeOutcome(theirEncode, value);
            expect(encodeOutcome(myEncode, value), `${name} #${n}`).to.equal(expected);
            if (expected.startsWith("throws")) continue;
            const bytes = Buffer.from(expected, "hex");
            expect(decoders[i]!(bytes), `${name} #${n}`).to.deep.equal(theirDecode(bytes));
            compared++;
          }
        });
      }
      expect(compared).to.be.greaterThan(Object.keys(mine).length * SAMPLES);
    });
  }
});
