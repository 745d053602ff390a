import { expect } from "chai";
import {
  apiHost,
  familiarReference,
  formatReference,
  parseReference,
  repoDigest,
  repoTag,
  type ImageReference,
} from "../../../src/image/reference.js";
import { InvalidArgumentError } from "../../../src/errors.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseReference", () => {
  const good: [string, ImageReference, string][] = [
    [
      "busybox",
      { registry: "docker.io", repository: "library/busybox", tag: "latest" },
      "docker.io/library/busybox:latest",
    ],
    [
      "busybox:1.36",
      { registry: "docker.io", repository: "library/busybox", tag: "1.36" },
      "docker.io/library/busybox:1.36",
    ],
    [
      "library/busybox",
      { registry: "docker.io", repository: "library/busybox", tag: "latest" },
      "docker.io/library/busybox:latest",
    ],
    [
      "docker.io/busybox",
      { registry: "docker.io", repository: "library/busybox", tag: "latest" },
      "docker.io/library/busybox:latest",
    ],
    [
      "index.docker.io/user/app:v1",
      { registry: "docker.io", repository: "user/app", tag: "v1" },
      "docker.io/user/app:v1",
    ],
    [
      "user/app",
      { registry: "docker.io", repository: "user/app", tag: "latest" },
      "docker.io/user/app:latest",
    ],
    [
      "localhost:5000/x",
      { registry: "localhost:5000", repository: "x", tag: "latest" },
      "localhost:5000/x:latest",
    ],
    ["localhost/x:y", { registry: "localhost", repository: "x", tag: "y" }, "localhost/x:y"],
    [
      "127.0.0.1:5000/a/b/c:t",
      { registry: "127.0.0.1:5000", repository: "a/b/c", tag: "t" },
      "127.0.0.1:5000/a/b/c:t",
    ],
    [
      "[::1]:5000/x",
      { registry: "[::1]:5000", repository: "x", tag: "latest" },
      "[::1]:5000/x:latest",
    ],
    [
      "Quay.IO/org/app",
      { registry: "quay.io", repository: "org/app", tag: "latest" },
      "quay.io/org/app:latest",
    ],
    [
      `busybox@${D}`,
      { registry: "docker.io", repository: "library/busybox", digest: D },
      `docker.io/library/busybox@${D}`,
    ],
    [
      `gcr.io/p/app:v2@${D}`,
      { registry: "gcr.io", repository: "p/app", tag: "v2", digest: D },
      `gcr.io/p/app:v2@${D}`,
    ],
    [
      "a__b/c-d.e_f:V_1.0-x",
      { registry: "docker.io", repository: "a__b/c-d.e_f", tag: "V_1.0-x" },
      "docker.io/a__b/c-d.e_f:V_1.0-x",
    ],
  ];
  for (const [input, ref, full] of good) {
    it(`parses ${input}`, () => {
      expect(parseReference(input)).to.deep.equal(ref);
      expect(formatReference(parseReference(input))).to.equal(full);
    });
  }

  const bad = [
    "",
    "Busybox",
    "docker.io/Library/busybox",
    "busybox:",
    "busybox:-x",
    `busybox:${"t".repeat(129)}`,
    "busybox@sha256:abc",
    "busybox@md5:" + "a".repeat(32),
    "a//b",
    "/busybox",
    "busybox/",
    "bad host!/x",
    "a b",
    "a".repeat(64),
    "-a/b",
    `example.com/${"a".repeat(250)}`,
  ];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + "…" : input)}`, () => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).to.equal("image.image");
    });
  }
});

describe("reference forms", () => {
  it("gives crictl's repoTags and repoDigests and familiar names", () => {
    const ref = parseReference("busybox");
    expect(repoTag(ref)).to.equal("docker.io/library/busybox:latest");
    expect(repoDigest(ref, D)).to.equal(`docker.io/library/busybox@${D}`);
    expect(familiarReference(ref)).to.equal("busybox:latest");
    expect(familiarReference(parseReference("user/app:v1"))).to.equal("user/app:v1");
    expect(familiarReference(parseReference("localhost:5000/x"))).to.equal(
      "localhost:5000/x:latest",
    );
    expect(repoTag(parseReference(`busybox@${D}`))).to.equal(undefined);
  });

  it("maps docker.io to its API host", () => {
    expect(apiHost("docker.io")).to.equal("registry-1.docker.io");
    expect(apiHost("127.0.0.1:5000")).to.equal("127.0.0.1:5000");
  });
});
