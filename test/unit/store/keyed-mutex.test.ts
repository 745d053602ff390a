import { strict as assert } from "node:assert";
import { KeyedMutex } from "../../../src/store/keyed-mutex.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("KeyedMutex", () => {
  it("runs operations on one key one after another, in call order", async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    const gate = deferred();
    const a = m.run("k", async () => {
      order.push("a-start");
      await gate.promise;
      order.push("a-end");
    });
    const b = m.run("k", async () => {
      order.push("b");
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ["a-start"]);
    gate.resolve();
    await Promise.all([a, b]);
    assert.deepEqual(order, ["a-start", "a-end", "b"]);
  });

  it("lets different keys run at the same time", async () => {
    const m = new KeyedMutex();
    const gate = deferred();
    let otherRan = false;
    const a = m.run("a", () => gate.promise);
    await m.run("b", async () => {
      otherRan = true;
    });
    assert.equal(otherRan, true);
    gate.resolve();
    await a;
  });

  it("a failed operation does not block the next one on its key", async () => {
    const m = new KeyedMutex();
    await assert.rejects(
      m.run("k", () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal(await m.run("k", () => Promise.resolve(7)), 7);
  });
});
