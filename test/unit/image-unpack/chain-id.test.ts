import { expect } from "chai";
import { chainIdOf, chainIds, isSha256Digest } from "../../../src/image/unpack/chain-id.js";
import { InvalidArgumentError } from "../../../src/errors.js";

// Vectors computed with sha256sum: D1..D3 are the digests of "a", "b", "c";
// C2 = sha256("D1 D2"), C3 = sha256("C2 D3").
const D1 = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const D2 = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";
const D3 = "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6";
const C2 = "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676";
const C3 = "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106";

describe("image unpack: chain IDs", function () {
  it("uses the diff ID for the bottom layer", function () {
    expect(chainIdOf(null, D1)).to.equal(D1);
  });

  it("hashes parent chain ID, a space and the diff ID above it", function () {
    expect(chainIdOf(D1, D2)).to.equal(C2);
    expect(chainIdOf(C2, D3)).to.equal(C3);
    expect(chainIds([D1, D2, D3])).to.deep.equal([D1, C2, C3]);
    expect(chainIds([])).to.deep.equal([]);
  });

  it("refuses anything that is not a sha256 digest", function () {
    expect(() => chainIdOf(null, "sha256:abc")).to.throw(InvalidArgumentError);
    expect(() => chainIdOf(null, D1.toUpperCase())).to.throw(InvalidArgumentError);
    expect(() => chainIdOf("../x", D1)).to.throw(InvalidArgumentError);
    expect(isSha256Digest(D1)).to.equal(true);
    expect(isSha256Digest(`${D1}\n`)).to.equal(false);
  });
});
