import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CodecError } from "./errors.ts";
import { decodeMessage, encodeMessage, MAX_PAYLOAD_BYTES, type Message, MessageKind, messageId } from "./message.ts";
import { errorCode } from "./testing/mod.ts";

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const arbMessage: fc.Arbitrary<Message> = fc.record({
  version: fc.constant(1),
  sourceChainId: u64,
  destinationChainId: u64,
  nonce: u64,
  kind: fc.constantFrom(MessageKind.app, MessageKind.governance),
  sender: fc.uint8Array({ maxLength: 64 }),
  recipient: fc.uint8Array({ maxLength: 64 }),
  payload: fc.uint8Array({ maxLength: 2048 }),
  source: fc.record({ blockNumber: u64, txHash: fc.uint8Array({ minLength: 32, maxLength: 32 }), logIndex: fc.nat({ max: 0xffff_ffff }) }),
});

const sample = (): Message => ({
  version: 1,
  sourceChainId: 1001n,
  destinationChainId: 2002n,
  nonce: 5n,
  kind: MessageKind.app,
  sender: new Uint8Array(20).fill(1),
  recipient: new Uint8Array(20).fill(2),
  payload: new Uint8Array([1, 2, 3]),
  source: { blockNumber: 9n, txHash: new Uint8Array(32).fill(3), logIndex: 1 },
});

const code = (f: () => unknown) => errorCode(f, CodecError);

describe("message codec", () => {
  it("round-trips any valid message", () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const enc = encodeMessage(m);
        assert.deepEqual(decodeMessage(enc), { ...m, source: { ...m.source } });
        assert.deepEqual(encodeMessage(decodeMessage(enc)), enc);
      }),
    );
  });

  it("gives different ids to messages that differ in any field", () => {
    const base = messageId(sample());
    const variants: Partial<Message>[] = [
      { sourceChainId: 1002n },
      { destinationChainId: 2003n },
      { nonce: 6n },
      { kind: MessageKind.governance },
      { sender: new Uint8Array(20).fill(9) },
      { recipient: new Uint8Array(21).fill(2) },
      { payload: new Uint8Array([1, 2, 3, 0]) },
      { source: { blockNumber: 10n, txHash: new Uint8Array(32).fill(3), logIndex: 1 } },
      { source: { blockNumber: 9n, txHash: new Uint8Array(32).fill(3), logIndex: 2 } },
    ];
    for (const v of variants) assert.notDeepEqual(messageId({ ...sample(), ...v }), base, JSON.stringify(Object.keys(v)));
  });

  it("length prefixes keep sender and recipient apart", () => {
    const a = { ...sample(), sender: new Uint8Array([1, 2]), recipient: new Uint8Array([3]) };
    const b = { ...sample(), sender: new Uint8Array([1]), recipient: new Uint8Array([2, 3]) };
    assert.notDeepEqual(messageId(a), messageId(b));
  });

  it("rejects trailing bytes, truncation, unknown versions and kinds", () => {
    const enc = encodeMessage(sample());
    assert.equal(
      code(() => decodeMessage(new Uint8Array([...enc, 0]))),
      "TRAILING_BYTES",
    );
    for (let cut = 0; cut < enc.length; cut += 7)
      assert.equal(
        code(() => decodeMessage(enc.subarray(0, cut))),
        "TRUNCATED",
      );
    const v2 = enc.slice();
    v2[0] = 2;
    assert.equal(
      code(() => decodeMessage(v2)),
      "UNKNOWN_VERSION",
    );
    const k = enc.slice();
    k[25] = 7;
    assert.equal(
      code(() => decodeMessage(k)),
      "UNKNOWN_KIND",
    );
  });

  it("refuses to encode oversize or out-of-range fields", () => {
    assert.equal(
      code(() => encodeMessage({ ...sample(), payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) })),
      "FIELD_TOO_LONG",
    );
    assert.equal(
      code(() => encodeMessage({ ...sample(), sender: new Uint8Array(65) })),
      "FIELD_TOO_LONG",
    );
    assert.equal(
      code(() => encodeMessage({ ...sample(), nonce: 1n << 64n })),
      "VALUE_OUT_OF_RANGE",
    );
    assert.equal(
      code(() => encodeMessage({ ...sample(), sourceChainId: -1n })),
      "VALUE_OUT_OF_RANGE",
    );
    assert.equal(
      code(() => encodeMessage({ ...sample(), source: { ...sample().source, txHash: new Uint8Array(31) } })),
      "BAD_LENGTH",
    );
    assert.equal(
      code(() => encodeMessage({ ...sample(), source: { ...sample().source, logIndex: -1 } })),
      "VALUE_OUT_OF_RANGE",
    );
    assert.equal(
      code(() => encodeMessage({ ...sample(), version: 2 })),
      "UNKNOWN_VERSION",
    );
    assert.equal(
      code(() => encodeMessage({ ...sample(), kind: 0 as MessageKind })),
      "UNKNOWN_KIND",
    );
  });

  it("never throws anything but a CodecError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeMessage(bytes);
        } catch (e) {
          assert.ok(e instanceof CodecError);
        }
      }),
    );
  });
});
