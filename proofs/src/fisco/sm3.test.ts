import assert from "node:assert/strict";
import { hash } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { toHex } from "../bytes.ts";
import { sm3 } from "./sm3.ts";

const enc = new TextEncoder();

test("SM3 known answers (GB/T 32905-2016 appendix A)", () => {
  assert.equal(toHex(sm3(enc.encode("abc"))), "0x66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  assert.equal(toHex(sm3(enc.encode("abcd".repeat(16)))), "0xdebe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
});

test("SM3 agrees with OpenSSL's for every length across block boundaries (property)", () => {
  for (let n = 0; n <= 200; n++) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    assert.equal(toHex(sm3(data)), `0x${hash("sm3", data, "hex")}`, `length ${n}`);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
      assert.equal(toHex(sm3(data)), `0x${hash("sm3", data, "hex")}`);
    }),
    { numRuns: 200 },
  );
});
