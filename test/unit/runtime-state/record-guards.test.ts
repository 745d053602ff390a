// The named state checks every service uses instead of comparing timestamps with "not yet".
import { expect } from "chai";
import {
  canStart,
  containerState,
  hasExited,
  infraExited,
  infraRunning,
  isRunning,
  sandboxReady,
  sandboxStopped,
  wasStarted,
} from "../../../src/runtime/records.js";

describe("state: container guards", () => {
  const created = { startedAt: 0n, finishedAt: 0n, startError: "" };
  const running = { ...created, startedAt: 10n };
  const exited = { ...running, finishedAt: 20n };
  const startFailed = { ...created, startError: "exec: no such file", finishedAt: 15n };
  // A start error with no finish time never comes from berth, but must not read as startable.
  const startErrorOnly = { ...created, startError: "boom" };

  it("created → running → exited, each with its one allowed move", () => {
    const table = [created, running, exited, startFailed, startErrorOnly].map((c) => [
      containerState(c),
      canStart(c),
      isRunning(c),
      hasExited(c),
      wasStarted(c),
    ]);
    expect(table).to.deep.equal([
      ["CONTAINER_CREATED", true, false, false, false],
      ["CONTAINER_RUNNING", false, true, false, true],
      ["CONTAINER_EXITED", false, false, true, true],
      ["CONTAINER_EXITED", false, false, true, false],
      ["CONTAINER_EXITED", false, false, false, false],
    ]);
  });

  it("an exit before a start time was saved (a crash) is still exited", () => {
    const c = { ...created, finishedAt: 1n };
    expect([containerState(c), canStart(c), isRunning(c)]).to.deep.equal([
      "CONTAINER_EXITED",
      false,
      false,
    ]);
  });
});

describe("state: sandbox guards", () => {
  const ready = { stoppedAt: 0n, infraExitedAt: 0n, infraPid: 77 };

  it("ready only while not stopped, with an infra whose exit is not recorded", () => {
    const cases = [
      ready,
      { ...ready, stoppedAt: 5n },
      { ...ready, infraExitedAt: 6n },
      { ...ready, infraPid: 0 },
      { ...ready, stoppedAt: 5n, infraExitedAt: 6n },
    ].map((s) => [sandboxReady(s), sandboxStopped(s), infraExited(s), infraRunning(s)]);
    expect(cases).to.deep.equal([
      [true, false, false, true],
      [false, true, false, true],
      [false, false, true, false],
      [false, false, false, false],
      [false, true, true, false],
    ]);
  });
});
