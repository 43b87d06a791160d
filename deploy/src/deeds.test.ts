/**
 * The deed hash and signing root of the worked example in docs/deeds.md (so the page cannot drift from
 * the code), and the encoders' refusals. The contract computes the same values: deploy/test/deeds.int.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CodecError, fromHex, sha256, toHex } from "@shandu/proofs";
import { reasonCode } from "./app.ts";
import { DEED_TAG, type Deed, deedHash, deedSigningRoot, evmDeed } from "./deeds.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** docs/deeds.md §4. */
const example: Deed = {
  deedId: sha256(text("deed:sh-metro:2025-06-15:0001")),
  user: fromHex("0xa11ce00000000000000000000000000000000001"),
  category: reasonCode("LOW_CARBON_TRIP"),
  quantity: 15n,
  unit: reasonCode("KM"),
  measuredBy: reasonCode("SH_METRO"),
  measuredAt: 1_750_000_000n,
  consentRef: sha256(text("consent:0001")),
  envelopeCommitment: sha256(text("envelope:0001")),
};
const setHash = sha256(text("measurers"));
const registry = fromHex("0x5eed000000000000000000000000000000000001");

test("the worked example of docs/deeds.md", () => {
  assert.equal(toHex(DEED_TAG), "0x5348414e44552d444545442d7631");
  assert.equal(toHex(example.deedId), "0xc0a66ad270841e5fd8def3b096bc8a8d374903739331154226ed52ee500ca329");
  assert.equal(toHex(example.consentRef), "0xed981097ceb205bce7268b84e02fd6c4f95fad90c76a47a932acb9e6554bed5b");
  assert.equal(toHex(example.envelopeCommitment), "0x1b7e5be08babd8a3ff7a2b7f7be4951e68662bf4f9237b0f7c0744439cf17a36");
  assert.equal(toHex(setHash), "0xb848b415afca60100716b915a1a4d30f0b086220d00888bf32ad56aca74feffd");
  assert.equal(toHex(deedHash(example)), "0x97746632aea5484bc85f2764ebe9b1e007a74bc9f6136bc817ed3c951c4ada90");
  assert.equal(
    toHex(deedSigningRoot(setHash, 3n, 1001n, registry, example)),
    "0xca5c038282762b86faf4108101aa8b78881b205231d4ef433267770c60293ac0",
  );
});

test("every field changes the deed hash, and the root binds committee, epoch, chain and registry", () => {
  const base = toHex(deedHash(example));
  const changed: Partial<Deed>[] = [
    { deedId: sha256(text("other")) },
    { user: fromHex("0xa11ce00000000000000000000000000000000002") },
    { category: reasonCode("VOLUNTEERING") },
    { quantity: 16n },
    { unit: reasonCode("M") },
    { measuredBy: reasonCode("SZ_BIKE") },
    { measuredAt: 1_750_000_001n },
    { consentRef: sha256(text("consent:0002")) },
    { envelopeCommitment: sha256(text("envelope:0002")) },
  ];
  for (const c of changed) assert.notEqual(toHex(deedHash({ ...example, ...c })), base, Object.keys(c)[0]);
  const root = toHex(deedSigningRoot(setHash, 3n, 1001n, registry, example));
  assert.notEqual(toHex(deedSigningRoot(sha256(text("other")), 3n, 1001n, registry, example)), root);
  assert.notEqual(toHex(deedSigningRoot(setHash, 4n, 1001n, registry, example)), root);
  assert.notEqual(toHex(deedSigningRoot(setHash, 3n, 2002n, registry, example)), root);
  assert.notEqual(toHex(deedSigningRoot(setHash, 3n, 1001n, new Uint8Array(20), example)), root);
});

test("fields of the wrong size or range are refused", () => {
  const code = (f: () => unknown) =>
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof CodecError);
      return true;
    });
  code(() => deedHash({ ...example, user: new Uint8Array(32) }));
  code(() => deedHash({ ...example, deedId: new Uint8Array(31) }));
  code(() => deedHash({ ...example, quantity: -1n }));
  code(() => deedHash({ ...example, quantity: 1n << 256n }));
  code(() => deedHash({ ...example, measuredAt: 1n << 64n }));
  code(() => evmDeed({ ...example, category: new Uint8Array(33) }));
  code(() => deedSigningRoot(setHash, 3n, 1001n, new Uint8Array(32), example));
  assert.equal(evmDeed(example).user, "0xa11ce00000000000000000000000000000000001");
});
