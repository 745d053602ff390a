import { expect } from "chai";
import { KeyedRwLock } from "../../../src/store/keyed-rw-lock.js";

function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { open, wait };
}
const tick = () => new Promise((r) => setImmediate(r));

describe("KeyedRwLock", () => {
  it("lets shared holders run together", async () => {
    const lock = new KeyedRwLock();
    const g = gate();
    const a = lock.shared("p", () => g.wait);
    const b = lock.shared("p", () => g.wait);
    await tick();
    expect(lock.holders("p").readers).to.equal(2);
    g.open();
    await Promise.all([a, b]);
    expect(lock.holders("p")).to.deep.equal({ readers: 0, writer: false, waiting: 0 });
  });

  it("an exclusive holder waits for every shared one, and later shared ones wait for it", async () => {
    const lock = new KeyedRwLock();
    const order: string[] = [];
    const g = gate();
    const create = lock.shared("p", async () => {
      await g.wait;
      order.push("create done");
    });
    const remove = lock.exclusive("p", async () => {
      order.push("remove");
    });
    const lateCreate = lock.shared("p", async () => {
      order.push("late create");
    });
    await tick();
    expect(order).to.deep.equal([]);
    expect(lock.holders("p")).to.deep.equal({ readers: 1, writer: false, waiting: 2 });
    g.open();
    await Promise.all([create, remove, lateCreate]);
    expect(order).to.deep.equal(["create done", "remove", "late create"]);
  });

  it("releases on a throw, and keys are independent", async () => {
    const lock = new KeyedRwLock();
    const g = gate();
    const held = lock.exclusive("a", () => g.wait);
    let otherRan = false;
    await lock.exclusive("b", async () => {
      otherRan = true;
    });
    expect(otherRan).to.equal(true);
    g.open();
    await held;
    const err = await lock
      .exclusive("a", () => Promise.reject(new Error("boom")))
      .catch((e: unknown) => e);
    expect((err as Error).message).to.equal("boom");
    expect(await lock.shared("a", async () => 7)).to.equal(7);
    expect(lock.holders("a")).to.deep.equal({ readers: 0, writer: false, waiting: 0 });
  });
});
