/**
 * The settlement root payload's codec (strict, with the contract's order of checks) and the arguments of
 * `publish` and `markSettled`, checked against `@shandu/proofs`. The contract's side:
 * deploy/test/settlement.int.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CodecError,
  concatBytes,
  encodeSettlementHeader,
  encodeSettlementLine,
  fromHex,
  recomputeSettlement,
  SettlementError,
  sha256,
  toHex,
  verifySettledLine,
} from "@shandu/proofs";
import {
  decodeSettlementPayload,
  encodeSettlementPayload,
  markSettledArgs,
  publishArgs,
  SETTLEMENT_PAYLOAD_LENGTH,
  settlementPayloadOf,
} from "./settlementChain.ts";

const batch = recomputeSettlement(
  { allianceAgreementId: "sh-sz", windowId: 7n, from: 100n, to: 200n },
  [
    {
      redemptionId: sha256(Uint8Array.of(1)),
      sponsor: "fund",
      exchangePlatform: "metro",
      credits: 10n,
      creditClass: "c",
      confirmedAt: 150n,
    },
    { redemptionId: sha256(Uint8Array.of(2)), sponsor: "fund", exchangePlatform: "mall", credits: 4n, creditClass: "c", confirmedAt: 150n },
    {
      redemptionId: sha256(Uint8Array.of(3)),
      sponsor: "charity",
      exchangePlatform: "books",
      credits: 3n,
      creditClass: "c",
      confirmedAt: 150n,
    },
  ],
  { id: "sh-sz", currency: "CNY", rates: [{ creditClass: "c", numerator: 1n, denominator: 1n }] },
);

function codecCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
  return "(nothing thrown)";
}

test("the payload codec is strict", () => {
  const p = { windowId: 7n, settlementRoot: batch.settlementRoot, lineCount: batch.header.lineCount };
  const bytes = encodeSettlementPayload(p);
  assert.equal(bytes.length, SETTLEMENT_PAYLOAD_LENGTH);
  assert.equal(toHex(bytes.slice(0, 10)), "0x01010000000000000007");
  assert.deepEqual(decodeSettlementPayload(bytes), p);
  assert.deepEqual(settlementPayloadOf(batch), bytes);
  assert.equal(
    codecCode(() => decodeSettlementPayload(bytes.slice(0, 1))),
    "TRUNCATED",
  );
  assert.equal(
    codecCode(() => decodeSettlementPayload(bytes.slice(0, 45))),
    "TRUNCATED",
  );
  assert.equal(
    codecCode(() => decodeSettlementPayload(concatBytes(bytes, new Uint8Array(1)))),
    "TRAILING_BYTES",
  );
  assert.equal(
    codecCode(() => decodeSettlementPayload(Uint8Array.of(2, ...bytes.slice(1)))),
    "UNKNOWN_VERSION",
  );
  assert.equal(
    codecCode(() => decodeSettlementPayload(Uint8Array.of(1, 2, ...bytes.slice(2)))),
    "UNKNOWN_KIND",
  );
  const zero = bytes.slice();
  zero.fill(0, 10, 42);
  assert.equal(
    codecCode(() => decodeSettlementPayload(zero)),
    "VALUE_OUT_OF_RANGE",
  );
  assert.equal(
    codecCode(() => encodeSettlementPayload({ ...p, lineCount: 2 ** 32 })),
    "VALUE_OUT_OF_RANGE",
  );
  assert.equal(
    codecCode(() => encodeSettlementPayload({ ...p, windowId: 1n << 64n })),
    "VALUE_OUT_OF_RANGE",
  );
  assert.equal(
    codecCode(() => encodeSettlementPayload({ ...p, settlementRoot: new Uint8Array(31) })),
    "BAD_LENGTH",
  );
});

test("publish and markSettled arguments are the batch's, and the line verifies under the root", () => {
  assert.deepEqual(publishArgs(batch), [7n, toHex(batch.settlementRoot), batch.header.lineCount]);
  const reference = sha256(Uint8Array.of(9));
  for (let i = 0; i < batch.lines.length; i++) {
    const [windowId, header, treeRoot, line, siblings, ref] = markSettledArgs(batch, i, reference);
    assert.equal(windowId, 7n);
    assert.equal(header, toHex(encodeSettlementHeader(batch.header)));
    assert.equal(treeRoot, toHex(batch.treeRoot));
    assert.equal(line, toHex(encodeSettlementLine(batch.lines[i]!)));
    assert.equal(ref, toHex(reference));
    const proof = { treeSize: batch.lines.length, indices: [i], siblings: siblings.map((s) => fromHex(s)) };
    verifySettledLine(batch.settlementRoot, batch.header, batch.lines[i]!, proof);
  }
  assert.throws(() => markSettledArgs(batch, batch.lines.length, reference), SettlementError);
  assert.equal(
    codecCode(() => markSettledArgs(batch, 0, new Uint8Array(32))),
    "VALUE_OUT_OF_RANGE",
  );
  assert.equal(
    codecCode(() => markSettledArgs(batch, 0, new Uint8Array(31))),
    "BAD_LENGTH",
  );
});
