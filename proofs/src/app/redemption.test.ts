import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesEqual, utf8 } from "../bytes.ts";
import { BundleError, CodecError } from "../errors.ts";
import { sha256 } from "../hash.ts";
import { errorCode } from "../testing/mod.ts";
import {
  AUTHORISE_ENVELOPE_OFFSET,
  decodeRedemptionPayload,
  decodeSettlementRootPayload,
  encodeRedemptionPayload,
  encodeSettlementRootPayload,
  REDEMPTION_PAYLOAD_LENGTH,
  type RedemptionPayload,
  reasonCode,
  reasonText,
} from "./redemption.ts";
import { recomputeSettlement } from "./settlement.ts";
import { agreementFromJson, agreementToJson, settlementBatchFromJson, settlementBatchToJson } from "./settlementJson.ts";

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

const payloadArb: fc.Arbitrary<RedemptionPayload> = fc.oneof(
  fc.record({
    op: fc.constant("authorise" as const),
    id: bytes(32),
    user: bytes(20),
    platform: bytes(20),
    creditClass: bytes(32),
    amount: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
    deadline: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    envelopeCommitment: bytes(32),
  }),
  fc.record({ op: fc.constant("confirm" as const), id: bytes(32) }),
  fc.record({ op: fc.constant("reject" as const), id: bytes(32), reason: bytes(32) }),
  fc.record({ op: fc.constant("expired" as const), id: bytes(32) }),
);

describe("redemption payloads", () => {
  it("round-trip every op at its fixed length", () => {
    fc.assert(
      fc.property(payloadArb, (p) => {
        const b = encodeRedemptionPayload(p);
        assert.equal(b.length, REDEMPTION_PAYLOAD_LENGTH[p.op]);
        assert.deepEqual(decodeRedemptionPayload(b), { ...p });
      }),
    );
  });

  it("puts the envelope commitment at its documented offset", () => {
    const commitment = sha256(utf8("envelope"));
    const b = encodeRedemptionPayload({
      op: "authorise",
      id: new Uint8Array(32),
      user: new Uint8Array(20),
      platform: new Uint8Array(20),
      creditClass: new Uint8Array(32),
      amount: 1n,
      deadline: 2n,
      envelopeCommitment: commitment,
    });
    assert.ok(bytesEqual(b.subarray(AUTHORISE_ENVELOPE_OFFSET, AUTHORISE_ENVELOPE_OFFSET + 32), commitment));
  });

  it("refuses bad versions, ops and lengths with their codes", () => {
    const ok = encodeRedemptionPayload({ op: "confirm", id: new Uint8Array(32) });
    const code = (b: Uint8Array) => errorCode(() => decodeRedemptionPayload(b), CodecError);
    assert.equal(code(ok.subarray(0, 1)), "TRUNCATED");
    assert.equal(code(Uint8Array.of(2, ...ok.subarray(1))), "UNKNOWN_VERSION");
    assert.equal(code(Uint8Array.of(1, 5, ...ok.subarray(2))), "UNKNOWN_KIND");
    assert.equal(code(Uint8Array.of(1, 0, ...ok.subarray(2))), "UNKNOWN_KIND");
    assert.equal(code(ok.subarray(0, 33)), "TRUNCATED");
    assert.equal(code(Uint8Array.of(...ok, 0)), "TRAILING_BYTES");
    // An authorise payload of the old 146-byte form is refused, not read with a missing commitment.
    const auth = encodeRedemptionPayload({
      op: "authorise",
      id: new Uint8Array(32),
      user: new Uint8Array(20),
      platform: new Uint8Array(20),
      creditClass: new Uint8Array(32),
      amount: 1n,
      deadline: 1n,
      envelopeCommitment: new Uint8Array(32),
    });
    assert.equal(code(auth.subarray(0, 146)), "TRUNCATED");
  });

  it("reason codes round-trip as left-aligned ASCII", () => {
    assert.equal(reasonText(reasonCode("PLATFORM_REJECTED")), "PLATFORM_REJECTED");
    assert.equal(
      errorCode(() => reasonCode("x".repeat(33)), CodecError),
      "VALUE_OUT_OF_RANGE",
    );
    assert.equal(
      errorCode(() => reasonCode("é"), CodecError),
      "VALUE_OUT_OF_RANGE",
    );
  });

  it("settlement root payloads round-trip and refuse bad input", () => {
    const p = { windowId: 7n, settlementRoot: sha256(utf8("root")), lineCount: 3 };
    const b = encodeSettlementRootPayload(p);
    assert.equal(b.length, 46);
    assert.deepEqual(decodeSettlementRootPayload(b), p);
    const code = (x: Uint8Array) => errorCode(() => decodeSettlementRootPayload(x), CodecError);
    assert.equal(code(b.subarray(0, 45)), "TRUNCATED");
    assert.equal(code(Uint8Array.of(...b, 0)), "TRAILING_BYTES");
    assert.equal(code(Uint8Array.of(1, 2, ...b.subarray(2))), "UNKNOWN_KIND");
    assert.equal(code(Uint8Array.of(9, ...b.subarray(1))), "UNKNOWN_VERSION");
  });
});

describe("settlement JSON", () => {
  const agreement = { id: "sh-sz", currency: "CNY", rates: [{ creditClass: "LOW_CARBON", numerator: 10n, denominator: 3n }] };
  const window = { allianceAgreementId: "sh-sz", windowId: 1n, from: 100n, to: 200n };
  const confirmations = ["a", "b", "c"].map((s, i) => ({
    redemptionId: sha256(utf8(s)),
    sponsor: i === 2 ? "fund-2" : "fund-1",
    exchangePlatform: i === 0 ? "shop" : "cafe",
    credits: BigInt(10 + i),
    creditClass: "LOW_CARBON",
    confirmedAt: 150n,
  }));

  it("round-trips a batch and an agreement exactly", () => {
    const batch = recomputeSettlement(window, confirmations, agreement);
    assert.deepEqual(settlementBatchFromJson(JSON.parse(JSON.stringify(settlementBatchToJson(batch)))), batch);
    assert.deepEqual(agreementFromJson(JSON.parse(JSON.stringify(agreementToJson(agreement)))), agreement);
  });

  it("names the JSON path of a malformed member", () => {
    const json = settlementBatchToJson(recomputeSettlement(window, confirmations, agreement)) as Record<string, unknown>;
    const bad = { ...json, lines: [{ ...(json.lines as Record<string, unknown>[])[0], amount: "-5" }] };
    try {
      settlementBatchFromJson(bad);
      assert.fail("expected a schema error");
    } catch (e) {
      assert.ok(e instanceof BundleError);
      assert.equal(e.facts.path, "batch.lines[0].amount");
    }
    assert.equal(
      errorCode(() => settlementBatchFromJson({ ...json, format: "other" }), BundleError),
      "SCHEMA",
    );
  });
});
