import { expect } from "chai";
import { settleAll } from "../../../src/util/settle-all.js";

const later = <T>(ms: number, v: T) => new Promise<T>((r) => setTimeout(() => r(v), ms));

describe("settleAll", () => {
  it("returns every value in order", async () => {
    const [a, b] = await settleAll([later(5, 1), Promise.resolve("x")]);
    expect([a, b]).to.deep.equal([1, "x"]);
  });

  it("throws the first failure only after every step has finished", async () => {
    let slowDone = false;
    const slow = later(50, 0).then(() => {
      slowDone = true;
    });
    const err = await settleAll([Promise.reject(new Error("bad device")), slow]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.equal("bad device");
    expect(slowDone).to.equal(true); // Promise.all would have rejected at once
  });

  it("reports the first failure in argument order, not in time order", async () => {
    const err = await settleAll([
      later(30, 0).then(() => Promise.reject(new Error("first"))),
      Promise.reject(new Error("second")),
    ]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.equal("first");
  });
});
