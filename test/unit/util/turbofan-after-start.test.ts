import { execFileSync } from "node:child_process";
import { expect } from "chai";
import { AFTER_START_ENV, takeAfterStartFlags } from "../../../src/util/turbofan-after-start.js";

describe("takeAfterStartFlags", () => {
  it("is undefined without the variable, or with it empty, and leaves none behind", () => {
    expect(takeAfterStartFlags({})).to.equal(undefined);
    const env: NodeJS.ProcessEnv = { [AFTER_START_ENV]: " ", PATH: "/bin" };
    expect(takeAfterStartFlags(env)).to.equal(undefined);
    expect(env).to.deep.equal({ PATH: "/bin" });
  });

  it("takes the flags out of the environment and sets them once, when called", () => {
    const set: string[] = [];
    const env: NodeJS.ProcessEnv = { [AFTER_START_ENV]: "--turbofan" };
    const apply = takeAfterStartFlags(env, (f) => set.push(f));
    expect(env, "berthd's children do not inherit it").to.deep.equal({});
    expect(set, "nothing before berthd is ready").to.deep.equal([]);
    expect(apply!()).to.deep.equal(["--turbofan"]);
    expect(apply!()).to.deep.equal([]);
    expect(set).to.deep.equal(["--turbofan"]);
  });

  it("refuses any other flag, naming it", () => {
    const env: NodeJS.ProcessEnv = { [AFTER_START_ENV]: "--turbofan --max-opt=1" };
    expect(() => takeAfterStartFlags(env, () => undefined)).to.throw(
      `${AFTER_START_ENV}: unsupported flag --max-opt=1`,
    );
  });

  it("lets V8 optimize only once the flag is set, in a node started as bin/berthd starts it", () => {
    // %GetOptimizationStatus bit 4: the function runs optimized code.
    const script = `
      const { takeAfterStartFlags } = require(${JSON.stringify(require.resolve("../../../src/util/turbofan-after-start.js"))});
      const apply = takeAfterStartFlags(process.env);
      function hot(s) { let h = 0; for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0; return h; }
      const s = "x".repeat(200);
      const run = () => { for (let k = 0; k < 20000; k++) hot(s); return (%GetOptimizationStatus(hot) & 16) !== 0; };
      const before = run();
      apply();
      const after = run() || run();
      console.log(JSON.stringify({ before, after, env: process.env.${AFTER_START_ENV} ?? null }));
    `;
    const out = execFileSync(
      process.execPath,
      ["--no-turbofan", "--allow-natives-syntax", "-e", script],
      { encoding: "utf8", env: { ...process.env, [AFTER_START_ENV]: "--turbofan" } },
    );
    expect(JSON.parse(out)).to.deep.equal({ before: false, after: true, env: null });
  });
});
