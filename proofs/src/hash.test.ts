import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fromHex, toHex, utf8 } from "./bytes.ts";
import { sha256, sha256PureJs } from "./hash.ts";

describe("SHA-256", () => {
  it("matches the FIPS 180-4 examples", () => {
    // FIPS 180-4 / NIST CSRC example values for "abc" and the empty string.
    assert.equal(toHex(sha256(utf8("abc"))), "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(toHex(sha256(new Uint8Array(0))), "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("the native and pure-JS implementations agree and return plain Uint8Arrays", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (d) => {
        const a = sha256(d);
        assert.deepEqual(a, sha256PureJs(d));
        assert.equal(Object.getPrototypeOf(a), Uint8Array.prototype);
        assert.equal(a.length, 32);
      }),
    );
    assert.deepEqual(sha256(fromHex("0x00")), sha256PureJs(new Uint8Array(1)));
  });
});
