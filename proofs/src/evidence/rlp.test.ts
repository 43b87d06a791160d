import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fromHex, toHex, utf8 } from "../bytes.ts";
import { EvidenceError } from "../errors.ts";
import { errorCode } from "../testing/mod.ts";
import { RLP_MAX_DEPTH, type RlpItem, rlpDecode, rlpEncode, rlpUint, uintBytes } from "./rlp.ts";

const s = (text: string) => utf8(text);

/** The RLP failure reason of decoding `hex`, or throws when it decodes. */
function reason(hex: string): string {
  try {
    rlpDecode(fromHex(hex));
  } catch (e) {
    assert.ok(e instanceof EvidenceError && e.code === "RLP_INVALID", String(e));
    return String(e.facts.reason);
  }
  throw new Error(`${hex} decoded`);
}

const arbItem: fc.Arbitrary<RlpItem> = fc.letrec<{ item: RlpItem }>((tie) => ({
  item: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.uint8Array({ maxLength: 80 }), fc.array(tie("item"), { maxLength: 5 })),
})).item;

describe("RLP", () => {
  it("encodes the examples of the Ethereum RLP specification", () => {
    const cases: [RlpItem, string][] = [
      [s("dog"), "0x83646f67"],
      [[s("cat"), s("dog")], "0xc88363617483646f67"],
      [new Uint8Array(0), "0x80"],
      [[], "0xc0"],
      [uintBytes(0n), "0x80"],
      [Uint8Array.of(0), "0x00"],
      [uintBytes(15n), "0x0f"],
      [uintBytes(1024n), "0x820400"],
      [[[], [[]], [[], [[]]]], "0xc7c0c1c0c3c0c1c0"],
      [
        s("Lorem ipsum dolor sit amet, consectetur adipisicing elit"),
        `0xb838${toHex(s("Lorem ipsum dolor sit amet, consectetur adipisicing elit")).slice(2)}`,
      ],
    ];
    for (const [item, hex] of cases) {
      assert.equal(toHex(rlpEncode(item)), hex);
      assert.deepEqual(rlpDecode(fromHex(hex)), item);
    }
  });

  it("round-trips any item, and decoding is the inverse of encoding", () => {
    fc.assert(
      fc.property(arbItem, (item) => {
        const enc = rlpEncode(item);
        assert.deepEqual(rlpEncode(rlpDecode(enc)), enc);
        assert.deepEqual(rlpDecode(enc), item);
      }),
    );
  });

  it("rejects every non-canonical form", () => {
    assert.equal(reason("0x8100"), "single byte written as a string");
    assert.equal(reason("0x817f"), "single byte written as a string");
    assert.equal(reason("0xc28100"), "single byte written as a string");
    assert.equal(reason(`0xb837${"61".repeat(55)}`), "long form for a short length");
    assert.equal(reason(`0xf837${"80".repeat(55)}`), "long form for a short length");
    assert.equal(reason("0xb800"), "leading zero in a length");
    assert.equal(reason(`0xb90038${"61".repeat(56)}`), "leading zero in a length");
    assert.equal(reason(`0xf90038${"80".repeat(56)}`), "leading zero in a length");
    // 0x8180 is canonical: a single byte ≥ 0x80 needs the string form
    assert.deepEqual(rlpDecode(fromHex("0x8180")), Uint8Array.of(0x80));
  });

  it("rejects truncated input, items overrunning their list, and trailing bytes", () => {
    assert.equal(reason("0x"), "truncated");
    assert.equal(reason("0x836162"), "truncated");
    assert.equal(reason("0xb8"), "truncated");
    assert.equal(reason("0xb938"), "truncated");
    assert.equal(reason("0xbfffffffffffffffff"), "truncated");
    assert.equal(reason("0xc3836263"), "truncated");
    assert.equal(reason("0xc283616263"), "truncated"); // the string is longer than its list
    assert.equal(reason("0x8080"), "trailing bytes");
    assert.equal(reason("0xc0c0"), "trailing bytes");
  });

  it("limits nesting", () => {
    let deep: RlpItem = [];
    for (let i = 0; i < RLP_MAX_DEPTH; i++) deep = [deep];
    assert.equal(reason(toHex(rlpEncode(deep))), "nested too deeply");
    let ok: RlpItem = [];
    for (let i = 0; i < RLP_MAX_DEPTH - 1; i++) ok = [ok];
    assert.deepEqual(rlpDecode(rlpEncode(ok)), ok);
  });

  it("names the input and the offset in the error", () => {
    const e = (() => {
      try {
        rlpDecode(fromHex("0xc28100"), "block header");
      } catch (err) {
        return err as EvidenceError;
      }
    })();
    assert.equal(e?.facts.what, "block header");
    assert.equal(e?.facts.offset, 1);
    assert.equal(
      errorCode(() => rlpDecode(fromHex("0x00ff")), EvidenceError),
      "RLP_INVALID",
    );
  });

  it("reads integers only in their minimal form", () => {
    assert.equal(rlpUint(new Uint8Array(0)), 0n);
    assert.equal(rlpUint(Uint8Array.of(1, 0)), 256n);
    assert.equal(rlpUint(Uint8Array.of(0, 1)), null);
    assert.equal(rlpUint(new Uint8Array(9).fill(1)), null);
    assert.equal(rlpUint([]), null);
    assert.equal(rlpUint(new Uint8Array(9).fill(1), 9), 0x010101010101010101n);
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => rlpUint(uintBytes(v)) === v));
  });
});
