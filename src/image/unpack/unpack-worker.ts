// The worker thread that unpacks layers (see unpack-thread.ts and worker-unpack.ts for the
// main-thread side): it decompresses, hashes the diff IDs, parses the tars and writes the files
// of every layer being pulled, with its own heap (its garbage collection never stops the
// daemon's main thread) and with synchronous file system calls (this thread does nothing else,
// and a thread-pool round trip per call would cost more than the call). Commands (mknod,
// setfattr) and log lines go to the main thread, which owns the CommandRunner and the logger.
import { parentPort } from "node:worker_threads";
import type { CommandRunner, RunResult } from "../../util/command.js";
import type { UnpackLog } from "./layer-writer.js";
import { syncFs } from "./unpack-fs.js";
import { LayerUnpack } from "./unpack-layer.js";
import {
  type FromWorker,
  type ToWorker,
  type WorkerStart,
  fromWire,
  toWire,
  wireFields,
} from "./worker-protocol.js";

const port = parentPort;
if (port === null) throw new Error("unpack-worker.js runs only as a worker thread");
const post = (m: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

const unpacks = new Map<number, LayerUnpack>();
const calls = new Map<number, { resolve: (r: RunResult) => void; reject: (e: Error) => void }>();
let nextCall = 1;

function startUnpack(id: number, start: WorkerStart): void {
  const runner: CommandRunner = {
    run(file, args) {
      const call = nextCall++;
      post({ t: "run", id, call, file, args: [...args] });
      return new Promise((resolve, reject) => calls.set(call, { resolve, reject }));
    },
  };
  const log =
    (level: "debug" | "warn") =>
    (obj: object, msg: string): void =>
      post({ t: "log", id, level, obj: wireFields(obj), msg });
  const logger: UnpackLog = { debug: log("debug"), warn: log("warn") };
  const unpack = new LayerUnpack({ ...start, runner, logger, fs: syncFs, reusedInput: true });
  unpacks.set(id, unpack);
  unpack.done.then(
    () => post({ t: "done", id }),
    (err: unknown) => post({ t: "done", id, error: toWire(err) }),
  );
}

port.on("message", (m: ToWorker) => {
  if (m.t === "start") {
    startUnpack(m.id, m.start);
    return;
  }
  if (m.t === "ran" || m.t === "run-failed") {
    const call = calls.get(m.call);
    calls.delete(m.call);
    if (m.t === "run-failed") call?.reject(fromWire(m.error));
    else call?.resolve(withBuffers(m.result));
    return;
  }
  const unpack = unpacks.get(m.id);
  const id = m.id;
  switch (m.t) {
    case "data": {
      // Sent back once the unpack has consumed the bytes (or failed and drops them): the main
      // thread then fills the buffer again.
      const back = m.buf;
      const ack = (): void => post({ t: "ack", id, buf: back }, [back]);
      if (unpack === undefined) ack();
      else unpack.input.write(Buffer.from(back, 0, m.bytes), ack);
      break;
    }
    case "end":
      unpack?.input.end();
      break;
    case "abort":
      unpack?.input.destroy();
      break;
    case "finish":
      if (unpack === undefined) {
        post({ t: "finished", id, error: toWire(new Error("no such unpack")) });
        break;
      }
      unpack.finish(m.parents).then(
        (r) => post({ t: "finished", id, result: { ...r, size: r.size.toString() } }),
        (err: unknown) => post({ t: "finished", id, error: toWire(err) }),
      );
      break;
    case "release":
      // The main thread releases an unpack once it is over; one still taking bytes is stopped.
      if (unpack && !unpack.input.writableFinished) unpack.input.destroy();
      unpacks.delete(id);
      break;
  }
});

/** Buffers arrive as plain Uint8Arrays. */
function withBuffers(r: RunResult): RunResult {
  const b = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return { ...r, stdout: b(r.stdout), stderr: b(r.stderr) };
}
