// long.js, protobufjs's 64-bit integer, compiles a small WebAssembly module as it loads, to
// multiply and divide in wasm. That one compile brings V8's wasm decoder and baseline compiler
// into berthd's memory: ~0.6 MB of an idle berthd's RSS (issue #12). berth only converts int64s
// to and from decimal strings (timestamps, byte counts), for which long.js's JavaScript path
// gives the same results. So long.js is loaded here with WebAssembly out of sight, before
// protobufjs (src/cri/proto.ts imports this first), and protobufjs finds it already loaded.
// A long.js that protobufjs resolves elsewhere would still work, with its wasm.
const hidden = globalThis as { WebAssembly?: unknown };
const wasm = hidden.WebAssembly;
try {
  hidden.WebAssembly = undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("long");
} finally {
  hidden.WebAssembly = wasm;
}
