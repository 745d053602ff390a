import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnimplementedError,
} from "../../../src/errors.js";
import { toGrpcStatus } from "../../../src/cri/status.js";
import { HandlerRegistry, type HandlerProbe } from "../../../src/runtime/handler-registry.js";

describe("error to gRPC status", () => {
  it("maps typed errors to their codes and anything else to INTERNAL", () => {
    expect(toGrpcStatus(new InvalidArgumentError("config.metadata.name", "empty")).code).to.equal(
      status.INVALID_ARGUMENT,
    );
    expect(
      toGrpcStatus(new InvalidArgumentError("config.metadata.name", "empty")).details,
    ).to.equal("config.metadata.name: empty");
    expect(toGrpcStatus(new NotFoundError("x")).code).to.equal(status.NOT_FOUND);
    expect(toGrpcStatus(new FailedPreconditionError("x")).code).to.equal(
      status.FAILED_PRECONDITION,
    );
    expect(toGrpcStatus(new UnimplementedError("x")).code).to.equal(status.UNIMPLEMENTED);
    expect(toGrpcStatus(new Error("boom")).code).to.equal(status.INTERNAL);
    expect(toGrpcStatus("thrown string").details).to.equal("thrown string");
  });
});

function probe(name: string, ok: boolean): HandlerProbe {
  return {
    name,
    path: `/bin/${name}`,
    root: "/r",
    ok,
    reason: ok ? "" : "broken here",
    version: "1",
    features: { recursiveReadOnlyMounts: false, userNamespaces: false },
  };
}

describe("runtime handler registry", () => {
  it("prefers crun, then runc, never a broken handler", () => {
    expect(
      new HandlerRegistry([probe("runc", true), probe("crun", true)], "").defaultName,
    ).to.equal("crun");
    expect(
      new HandlerRegistry([probe("runc", true), probe("crun", false)], "").defaultName,
    ).to.equal("runc");
    expect(
      new HandlerRegistry([probe("runc", true), probe("crun", false)], "crun").defaultName,
    ).to.equal("runc");
    expect(new HandlerRegistry([probe("runc", false)], "").defaultName).to.equal(undefined);
  });

  it("resolves names: empty = default, unknown = INVALID_ARGUMENT, broken = FAILED_PRECONDITION", () => {
    const reg = new HandlerRegistry([probe("runc", true), probe("crun", false)], "");
    expect(reg.resolve("").name).to.equal("runc");
    expect(() => reg.resolve("kata")).to.throw(InvalidArgumentError, /runtime_handler.*kata/);
    expect(() => reg.resolve("crun")).to.throw(FailedPreconditionError, /broken here/);
  });
});
