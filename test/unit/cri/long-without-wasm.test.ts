import { execFileSync } from "node:child_process";
import { expect } from "chai";

/** WebAssembly modules a fresh node compiles while it requires `mod`, and long.js's answers. */
function wasmCompiles(mod: string): { compiled: number; max: string; product: string } {
  const script = `
    let compiled = 0;
    const Module = WebAssembly.Module;
    WebAssembly.Module = function (bytes) { compiled++; return new Module(bytes); };
    require(${JSON.stringify(mod)});
    const Long = require("protobufjs/light").util.Long;
    const max = Long.fromString("18446744073709551615", true).toString();
    const product = Long.fromString("-3037000493").multiply(Long.fromString("3037000499")).toString();
    console.log(JSON.stringify({ compiled, max, product }));
  `;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" })) as {
    compiled: number;
    max: string;
    product: string;
  };
}

describe("long.js without WebAssembly", () => {
  const answers = { max: "18446744073709551615", product: "-9223372012704246007" };

  it("is what protobufjs gets once the CRI proto module loaded it: no wasm compiled", () => {
    const proto = require.resolve("../../../src/cri/proto.js");
    expect(wasmCompiles(proto)).to.deep.equal({ compiled: 0, ...answers });
  });

  it("compiles its wasm when protobufjs loads it first (what the module above avoids)", () => {
    expect(wasmCompiles("protobufjs/light")).to.deep.equal({ compiled: 1, ...answers });
  });
});
