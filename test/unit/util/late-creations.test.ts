import { expect } from "chai";
import { AlreadyExistsError } from "../../../src/errors.js";
import { LateCreations } from "../../../src/util/late-creations.js";

/** A fake store of names: create fails ALREADY_EXISTS for a name already made, as berth's does. */
function fakeStore() {
  const made = new Map<string, string>();
  let n = 0;
  return {
    made,
    create: (name: string, ms: number) => async () => {
      if (made.has(name)) throw new AlreadyExistsError(`${name} is taken`);
      made.set(name, "pending");
      await new Promise((r) => setTimeout(r, ms));
      const id = `id${++n}`;
      made.set(name, id);
      return id;
    },
    exists: (id: string) => [...made.values()].includes(id),
  };
}

describe("LateCreations: retries of creates that outlived their deadline", () => {
  it("answers a retry after the first call finished late with the id it made", async () => {
    const late = new LateCreations();
    const store = fakeStore();
    const first = new AbortController();
    const p = late.run("pod", first.signal, store.exists, store.create("pod", 50));
    first.abort(); // the client's deadline passed
    const id = await p;
    expect(late.size).to.equal(1);
    expect(await late.run("pod", undefined, store.exists, store.create("pod", 0))).to.equal(id);
    expect(late.size).to.equal(0);
    // Claimed once: a third create of the name is a real conflict.
    const err = await late
      .run("pod", undefined, store.exists, store.create("pod", 0))
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AlreadyExistsError);
  });

  it("makes a retry that comes while the first call still runs wait for it", async () => {
    const late = new LateCreations();
    const store = fakeStore();
    const first = new AbortController();
    const p = late.run("pod", first.signal, store.exists, store.create("pod", 80));
    first.abort();
    const retry = await late.run("pod", undefined, store.exists, store.create("pod", 0));
    expect(retry).to.equal(await p);
  });

  it("leaves a conflict a conflict when the first caller heard its answer", async () => {
    const late = new LateCreations();
    const store = fakeStore();
    const first = new AbortController();
    const p = late.run("pod", first.signal, store.exists, store.create("pod", 30));
    const second = late.run("pod", undefined, store.exists, store.create("pod", 0));
    await p;
    expect(await second.catch((e: unknown) => e)).to.be.instanceOf(AlreadyExistsError);
    expect(late.size).to.equal(0);
  });

  it("forgets a late result after its keep time, or once the object is gone", async () => {
    let now = 0;
    const late = new LateCreations({ keepMs: 1000, now: () => now });
    const store = fakeStore();
    const ac = new AbortController();
    ac.abort();
    await late.run("a", ac.signal, store.exists, store.create("a", 0));
    await late.run("b", ac.signal, store.exists, store.create("b", 0));
    now = 2000;
    expect(late.size).to.equal(0);
    await late.run("c", ac.signal, store.exists, store.create("c", 0));
    store.made.delete("c"); // removed meanwhile
    const again = await late.run("c", undefined, store.exists, store.create("c", 0));
    expect(again).to.not.equal(undefined);
    expect(late.size).to.equal(0);
  });
});
