import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Deed, deedHash, deedSigningRoot, encodeAllianceGovernance, reasonCode } from "@shandu/deploy";
import { attestationToJson, committeeSetHash, committeeToJson, nobleBls, toHex } from "@shandu/proofs";
import { pilotCommittee, signAs } from "@shandu/proofs/testing";
import { codeOf } from "../testing/harness.ts";
import { org1Admin, org1User, org2User } from "../testing/identities.ts";
import { DEED_REGISTRY_ACCOUNT, deedHashOf, deedSigningRootOf } from "./deeds.ts";
import { accountOf, json, refused, World } from "./testing/world.ts";

const A = 3003n;
const measurers = pilotCommittee(nobleBls, "measurers");
const measurersHash = committeeSetHash(measurers.committee);
const distributor = accountOf(org2User);
const issuer = accountOf(org1Admin);
const user = accountOf(org1User);
const sponsor = new Uint8Array(20).fill(0x22);
const creditClass = new Uint8Array(32).fill(0xc1);
const category = reasonCode("LOW_CARBON_TRIP");
const unit = reasonCode("KM");

const grant = (role: number, account: Uint8Array, op: "grant" | "revoke" = "grant") =>
  encodeAllianceGovernance({ op, role, roleChainId: A, account });

function deedOf(n: number, patch: Partial<Deed> = {}): Deed {
  return {
    deedId: new Uint8Array(32).fill(n),
    user,
    category,
    quantity: 12n,
    unit,
    measuredBy: reasonCode("SH_METRO"),
    measuredAt: 1_799_999_000n,
    consentRef: new Uint8Array(32).fill(0xcc),
    envelopeCommitment: new Uint8Array(32).fill(0xe0),
    ...patch,
  };
}

function deedJson(d: Deed): string {
  return JSON.stringify({
    deedId: toHex(d.deedId),
    user: toHex(d.user),
    category: toHex(d.category),
    quantity: d.quantity.toString(),
    unit: toHex(d.unit),
    measuredBy: toHex(d.measuredBy),
    measuredAt: d.measuredAt.toString(),
    consentRef: toHex(d.consentRef),
    envelopeCommitment: toHex(d.envelopeCommitment),
  });
}

/** The measurers' attestation of `d` at this chain's registry (the signers and the target may be varied). */
function attest(d: Deed, o: { signers?: number[]; chainId?: bigint; registry?: Uint8Array; tc?: typeof measurers } = {}): string {
  const tc = o.tc ?? measurers;
  const root = deedSigningRoot(committeeSetHash(tc.committee), tc.committee.epoch, o.chainId ?? A, o.registry ?? DEED_REGISTRY_ACCOUNT, d);
  return JSON.stringify(attestationToJson(signAs(nobleBls, tc, o.signers ?? [0, 1, 3], root)));
}

async function world(o: { approve?: boolean; register?: boolean } = {}) {
  const w = await new World({ chainId: A, redemptionPeers: [[4004n, "shandu"]] }).setup();
  await w.governance(grant(2, distributor));
  await w.governance(grant(1, issuer));
  await w.governance(grant(3, sponsor));
  await w.governance(encodeAllianceGovernance({ op: "setClassSponsor", creditClass, sponsor }));
  if (o.approve !== false) await w.governance(encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: measurersHash }));
  if (o.approve !== false && o.register !== false) assert.equal(codeOf(await register(w)), "ok");
  return w;
}

const register = (w: World, c = measurers.committee) =>
  w.tx(org1User, (ctx) => w.deeds.registerMeasurers(ctx, JSON.stringify(committeeToJson(c))));
const record = (w: World, d: Deed, att = attest(d), who = org2User) => w.tx(who, (ctx) => w.deeds.recordDeed(ctx, deedJson(d), att));
const setRule = (w: World, num = 3n, den = 2n, cls = creditClass, who = org1Admin, u = unit) =>
  w.tx(who, (ctx) => w.deeds.setRule(ctx, toHex(category), toHex(u), toHex(cls), num.toString(), den.toString()));
const issueCredits = (w: World, d: Deed) => w.tx(org1User, (ctx) => w.deeds.issueCredits(ctx, toHex(d.deedId)));

describe("GoodDeedRegistry semantics: deed hash and signing root", () => {
  it("are the EVM registry's, with the application's account as the registry", async () => {
    const d = deedOf(1);
    assert.deepEqual(deedHashOf(d), deedHash(d));
    assert.deepEqual(deedSigningRootOf(measurersHash, 0n, A, d), deedSigningRoot(measurersHash, 0n, A, DEED_REGISTRY_ACCOUNT, d));
    assert.equal(
      toHex(DEED_REGISTRY_ACCOUNT),
      toHex((await import("@shandu/proofs")).sha256(new TextEncoder().encode("shandu")).slice(12)),
    );
    const w = await world();
    const root = await w.tx(org1User, (ctx) => w.deeds.deedSigningRoot(ctx, deedJson(d)));
    assert.equal(root.result, toHex(deedSigningRoot(measurersHash, 0n, A, DEED_REGISTRY_ACCOUNT, d)));
  });
});

describe("GoodDeedRegistry semantics: measurers", () => {
  it("registers only the approved committee, validated with its proofs of possession; again is a no-op", async () => {
    const w = await world({ approve: false });
    await refused(w, "MEASURERS_NOT_APPROVED", () => register(w));
    await w.governance(encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: measurersHash }));
    await refused(w, "MEASURERS_NOT_APPROVED", () => register(w, pilotCommittee(nobleBls, "other").committee));
    const rogue = structuredClone(measurers.committee);
    rogue.members[1]!.proofOfPossession = measurers.committee.members[2]!.proofOfPossession;
    // The set hash covers the proofs of possession: a swapped one is another committee, not approved.
    await refused(w, "MEASURERS_NOT_APPROVED", () => register(w, rogue));
    // Even a committee governance approved is registered only if every proof of possession verifies.
    await w.governance(encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: committeeSetHash(rogue) }));
    await refused(w, "INVALID_PROOF_OF_POSSESSION", () => register(w, rogue));
    await w.governance(encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: measurersHash }));
    await refused(w, "SCHEMA", () => w.tx(org1User, (ctx) => w.deeds.registerMeasurers(ctx, "[]")));
    assert.deepEqual(json(await register(w)), { committeeSetHash: toHex(measurersHash), epoch: "0", registered: true });
    assert.deepEqual(json(await register(w)), { committeeSetHash: toHex(measurersHash), epoch: "0", registered: false });
  });
});

describe("GoodDeedRegistry semantics: recording deeds", () => {
  it("records an attested deed from a distributor, with the registry's refusals in its order", async () => {
    const unregistered = await world({ register: false });
    await refused(unregistered, "MEASURERS_NOT_REGISTERED", () => record(unregistered, deedOf(1)));
    const w = await world();
    const d = deedOf(1);
    await refused(w, "NOT_DISTRIBUTOR", () => record(w, d, attest(d), org1User));
    await refused(w, "INVALID_DEED", () => record(w, deedOf(1, { quantity: 0n })));
    await refused(w, "INVALID_DEED", () => record(w, deedOf(1, { user: new Uint8Array(20) })));
    await refused(w, "BAD_SIGNATURE", () => record(w, d, attest(d, { chainId: 4004n })));
    await refused(w, "BAD_SIGNATURE", () => record(w, d, attest(d, { registry: new Uint8Array(20).fill(1) })));
    await refused(w, "BAD_SIGNATURE", () => record(w, d, attest(deedOf(1, { quantity: 13n }))));
    await refused(w, "QUORUM_WEIGHT_NOT_MET", () => record(w, d, attest(d, { signers: [0, 3] })));
    await refused(w, "QUORUM_GROUP_NOT_MET", () => record(w, d, attest(d, { signers: [0, 1, 2] })));
    await refused(w, "COMMITTEE_HASH_MISMATCH", () => record(w, d, attest(d, { tc: pilotCommittee(nobleBls, "other") })));
    await refused(w, "EPOCH_MISMATCH", () => record(w, d, attest(d, { tc: pilotCommittee(nobleBls, "measurers", 1n) })));
    await refused(w, "SCHEMA", () => w.tx(org2User, (ctx) => w.deeds.recordDeed(ctx, "{}", attest(d))));
    const r = json<Record<string, string>>(await record(w, d));
    assert.deepEqual([r.deedId, r.deedHash, r.distributor], [toHex(d.deedId), toHex(deedHash(d)), toHex(distributor)]);
    const stored = json<Record<string, string>>(await w.tx(org1User, (ctx) => w.deeds.deed(ctx, toHex(d.deedId))));
    assert.deepEqual([stored.state, stored.quantity, stored.user], ["RECORDED", "12", toHex(user)]);
    await refused(w, "DUPLICATE_DEED", () => record(w, d));
    // Withdrawing the approval stops recording.
    await w.governance(encodeAllianceGovernance({ op: "setMeasurers", committeeSetHash: new Uint8Array(32) }));
    await refused(w, "MEASURERS_NOT_REGISTERED", () => record(w, deedOf(2)));
  });
});

describe("GoodDeedRegistry semantics: rules and issuance", () => {
  it("issues floor(quantity × numerator / denominator) once, funded by the class's sponsor", async () => {
    const w = await world();
    const d = deedOf(1);
    await refused(w, "UNKNOWN_DEED", () => issueCredits(w, d));
    assert.equal(codeOf(await record(w, d)), "ok");
    await refused(w, "NO_RULE", () => issueCredits(w, d));
    await refused(w, "NOT_ISSUER", () => setRule(w, 3n, 2n, creditClass, org2User));
    await refused(w, "INVALID_RULE", () => setRule(w, 0n, 2n));
    await refused(w, "INVALID_RULE", () => setRule(w, 3n, 0n));
    await refused(w, "INVALID_RULE", () => setRule(w, 3n, 2n, new Uint8Array(32)));
    await refused(w, "SCHEMA", () => setRule(w, 1n << 128n, 2n));
    assert.equal(codeOf(await setRule(w, 1n, 13n)), "ok");
    await refused(w, "NOTHING_TO_ISSUE", () => issueCredits(w, d));
    assert.equal(codeOf(await setRule(w, 3n, 2n)), "ok");
    const out = json<Record<string, string>>(await issueCredits(w, d));
    assert.deepEqual(out, {
      deedId: toHex(d.deedId),
      creditClass: toHex(creditClass),
      amount: "18",
      sponsor: toHex(sponsor),
      issuer: toHex(issuer),
    });
    const c = json(await w.tx(org1User, (ctx) => w.app.credits(ctx, toHex(user), toHex(creditClass))));
    assert.deepEqual(c, { balance: "18", locked: "0", burned: "0", issued: "18" });
    assert.equal((await w.tx(org1User, (ctx) => w.app.issuedBySponsor(ctx, toHex(sponsor), toHex(creditClass)))).result, "18");
    await refused(w, "DEED_ALREADY_CREDITED", () => issueCredits(w, d));
  });

  it("refuses when the quantity overflows, the rule's issuer lost ISSUER, or the class has no sponsor", async () => {
    const w = await world();
    const big = deedOf(3, { quantity: 1n << 255n });
    assert.equal(codeOf(await record(w, big)), "ok");
    assert.equal(codeOf(await setRule(w, 3n, 2n)), "ok");
    await refused(w, "AMOUNT_OVERFLOW", () => issueCredits(w, big));
    const d = deedOf(4);
    assert.equal(codeOf(await record(w, d)), "ok");
    await w.governance(grant(1, issuer, "revoke"));
    await refused(w, "NOT_ISSUER", () => issueCredits(w, d));
    await w.governance(grant(1, issuer));
    const orphan = new Uint8Array(32).fill(0xc2);
    const km2 = reasonCode("KM2");
    assert.equal(codeOf(await setRule(w, 1n, 1n, orphan, org1Admin, km2)), "ok");
    const d2 = deedOf(5, { unit: km2 });
    assert.equal(codeOf(await record(w, d2)), "ok");
    await refused(w, "SPONSOR_MISMATCH", () => issueCredits(w, d2));
    assert.equal(codeOf(await issueCredits(w, d)), "ok");
  });
});
