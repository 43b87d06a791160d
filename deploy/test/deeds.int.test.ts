/**
 * `GoodDeedRegistry` + `GoodDeedCredits` on a real anvil node (Prague), reading roles, class sponsors and
 * the approved measurer committee from `AllianceDouble` (a test double of the alliance registry whose
 * values the test sets directly). Measurer registration (only the approved set hash, proofs of possession
 * verified), a deed attested by a quorum of measurers recorded and turned into credits by an issuer's
 * rule, and every refusal with its code and the state left as it was.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import { type Bls, type Committee, committeeSetHash, loadBls, sha256, toHex } from "@shandu/proofs";
import { makeTestCommittee, type TestCommittee } from "@shandu/proofs/testing";
import { type Contract, getBytes, getCreateAddress, type TransactionReceipt, type Wallet } from "ethers";
import {
  committeeInput,
  type Deed,
  deedAttestation,
  deedHash,
  deedSigningRoot,
  type EvmAttestation,
  evmDeed,
  reasonCode,
} from "../src/mod.ts";
import { eventsIn, rejectsWith } from "./refusals.ts";

const CHAIN = 1001n;
const ISSUER = 1;
const DISTRIBUTOR = 2;
const DEED_STATE = { none: 0n, recorded: 1n, credited: 2n };

const ascii = (s: string) => reasonCode(s);
const LOW_CARBON_TRIP = ascii("LOW_CARBON_TRIP");
const KM = ascii("KM");
const HOUR = ascii("HOUR");
const VOLUNTEERING = ascii("VOLUNTEERING");
const CLASS = toHex(ascii("low-carbon"));
const UNSPONSORED_CLASS = toHex(ascii("unsponsored"));

/** Three measuring institutions of equal weight; two of three sign a deed. */
function measurerCommittee(bls: Bls, seed: string, epoch = 0n): TestCommittee {
  return makeTestCommittee(bls, {
    epoch,
    seed,
    members: [
      { id: "sh-metro-lab", group: "metro" },
      { id: "sz-bike-lab", group: "bike" },
      { id: "cn-carbon-institute", group: "institute" },
    ],
    policy: { threshold: { numerator: 2, denominator: 3 }, groups: [] },
  });
}

describe("GoodDeedRegistry and GoodDeedCredits on anvil", { timeout: 180_000 }, () => {
  let bls: Bls;
  let node: AnvilNode;
  let deployer: Wallet;
  let distributor: Wallet;
  let issuer: Wallet;
  let alice: Wallet;
  let outsider: Wallet;
  let secondIssuer: Wallet;
  let alliance: Contract;
  let registry: Contract;
  let credits: Contract;
  let measurers: TestCommittee;
  const sponsor = "0x00000000000000000000000000000000005b0a50";

  before(async () => {
    bls = await loadBls();
    node = await startAnvil();
    deployer = node.wallet(0);
    distributor = node.wallet(1);
    issuer = node.wallet(2);
    alice = node.wallet(3);
    outsider = node.wallet(4);
    secondIssuer = node.wallet(5);
    measurers = measurerCommittee(bls, "deed-measurers");

    // Deployment order: alliance registry, deed registry, credits (and then the redemption contract,
    // which these tests do not need: its address is only named). Registry and credits name each other.
    const n = await node.provider.getTransactionCount(deployer.address);
    const at = (k: number) => getCreateAddress({ from: deployer.address, nonce: n + k });
    alliance = await deployContract(deployer, "AllianceDouble", [CHAIN]);
    registry = await deployContract(deployer, "GoodDeedRegistry", [at(0), at(2)]);
    credits = await deployContract(deployer, "GoodDeedCredits", [at(0), at(1), at(3)]);
    assert.equal(await registry.getAddress(), at(1));
    assert.equal(await credits.getAddress(), at(2));

    await send(alliance, deployer, "setRole", DISTRIBUTOR, CHAIN, distributor.address, true);
    await send(alliance, deployer, "setRole", ISSUER, CHAIN, issuer.address, true);
    await send(alliance, deployer, "setRole", ISSUER, CHAIN, secondIssuer.address, true);
    await send(alliance, deployer, "setClassSponsor", CLASS, sponsor);
  });
  after(async () => {
    await node?.close();
  });

  async function send(c: Contract, from: Wallet, fn: string, ...args: unknown[]): Promise<TransactionReceipt> {
    const tx = await (c.connect(from) as Contract).getFunction(fn)(...args);
    const receipt = await node.provider.waitForTransaction(tx.hash);
    assert.ok(receipt && receipt.status === 1, `${fn} was mined and succeeded`);
    return receipt;
  }

  const view = async (c: Contract, fn: string, ...args: unknown[]) => c.getFunction(fn).staticCall(...args);

  let deedCounter = 0;
  function newDeed(overrides: Partial<Deed> = {}): Deed {
    deedCounter += 1;
    return {
      deedId: sha256(new TextEncoder().encode(`deed-${deedCounter}`)),
      user: getBytes(alice.address),
      category: LOW_CARBON_TRIP,
      quantity: 15n,
      unit: KM,
      measuredBy: ascii("SH_METRO"),
      measuredAt: 1_750_000_000n + BigInt(deedCounter),
      consentRef: sha256(new TextEncoder().encode(`consent-${deedCounter}`)),
      envelopeCommitment: sha256(new TextEncoder().encode(`envelope-${deedCounter}`)),
      ...overrides,
    };
  }

  /** The attestation of `deed` at this registry by members `signers` of `tc` (by default the measurers). */
  async function attest(deed: Deed, signers: number[] = [0, 1], tc: TestCommittee = measurers): Promise<EvmAttestation> {
    return deedAttestation(bls, tc.committee, tc.secretKeys, signers, {
      chainId: CHAIN,
      registry: getBytes(await registry.getAddress()),
      deed,
    });
  }

  const deedState = async (deed: Deed) => ((await view(registry, "deed", deed.deedId)) as { state: bigint }).state;
  const balance = async (user: string, cls: string) => (await view(credits, "balanceOf", user, cls)) as bigint;

  async function approve(c: Committee): Promise<void> {
    await send(alliance, deployer, "setMeasurerCommittee", toHex(committeeSetHash(c)));
  }

  async function record(deed: Deed, signers: number[] = [0, 1]): Promise<TransactionReceipt> {
    return send(registry, distributor, "recordDeed", evmDeed(deed), await attest(deed, signers));
  }

  test("the contract's deed hash and signing root are the TypeScript ones", async () => {
    const deed = newDeed();
    assert.equal(await view(registry, "deedHash", evmDeed(deed)), toHex(deedHash(deed)));
    const setHash = committeeSetHash(measurers.committee);
    assert.equal(
      await view(registry, "deedSigningRoot", toHex(setHash), 7n, toHex(deedHash(deed))),
      toHex(deedSigningRoot(setHash, 7n, CHAIN, getBytes(await registry.getAddress()), deed)),
    );
  });

  test("measurers: only the committee governance approved is registered, with its proofs of possession checked", async () => {
    const input = committeeInput(measurers.committee);
    const setHash = toHex(committeeSetHash(measurers.committee));

    // Nothing approved yet: no committee, and no deed either.
    await rejectsWith(send(registry, outsider, "registerMeasurers", input), "MEASURERS_NOT_APPROVED");
    const early = newDeed();
    await rejectsWith(send(registry, distributor, "recordDeed", evmDeed(early), await attest(early)), "MEASURERS_NOT_REGISTERED");

    // Another committee approved: this one is still refused, whatever keys it brings.
    const other = measurerCommittee(bls, "other-measurers");
    await approve(other.committee);
    await rejectsWith(send(registry, outsider, "registerMeasurers", input), "MEASURERS_NOT_APPROVED");

    // A committee whose first member carries the second member's proof of possession: even approved by
    // governance, it is refused with the validator's code and nothing is stored.
    const forged: Committee = {
      ...measurers.committee,
      members: measurers.committee.members.map((m, i) =>
        i === 0 ? { ...m, proofOfPossession: measurers.committee.members[1]!.proofOfPossession } : m,
      ),
    };
    await approve(forged);
    await rejectsWith(send(registry, outsider, "registerMeasurers", committeeInput(forged)), "INVALID_PROOF_OF_POSSESSION");
    assert.equal(await view(registry, "measurerView", toHex(committeeSetHash(forged))), "0x0000000000000000000000000000000000000000");

    // The approved committee: anyone may register it; registering it again changes nothing.
    await approve(measurers.committee);
    const receipt = await send(registry, outsider, "registerMeasurers", input);
    const registered = eventsIn(receipt, registry).filter((e) => e.name === "MeasurersRegistered");
    assert.equal(registered.length, 1);
    assert.equal(registered[0]!.args.committeeSetHash, setHash);
    const stored = await view(registry, "measurerView", setHash);
    assert.notEqual(stored, "0x0000000000000000000000000000000000000000");
    const again = await send(registry, outsider, "registerMeasurers", input);
    assert.equal(eventsIn(again, registry).length, 0);
    assert.equal(await view(registry, "measurerView", setHash), stored);
  });

  test("a deed attested by a quorum is recorded and credited to its user with the class sponsor", async () => {
    await send(registry, issuer, "setRule", LOW_CARBON_TRIP, KM, CLASS, 3n, 2n);
    const deed = newDeed({ quantity: 15n });
    const before = await balance(alice.address, CLASS);
    const sponsored = (await view(credits, "issuedBySponsor", sponsor, CLASS)) as bigint;

    const recorded = eventsIn(await record(deed), registry);
    assert.deepEqual(
      recorded.map((e) => e.name),
      ["DeedRecorded"],
    );
    const ev = recorded[0]!.args;
    assert.equal(ev.deedId, toHex(deed.deedId));
    assert.equal(ev.user, alice.address);
    assert.equal(ev.category, toHex(deed.category));
    assert.equal(ev.quantity, 15n);
    assert.equal(ev.unit, toHex(KM));
    assert.equal(ev.measuredBy, toHex(deed.measuredBy));
    assert.equal(ev.measuredAt, deed.measuredAt);
    assert.equal(ev.consentRef, toHex(deed.consentRef));
    assert.equal(ev.envelopeCommitment, toHex(deed.envelopeCommitment));
    assert.equal(ev.distributor, distributor.address);
    assert.equal(await deedState(deed), DEED_STATE.recorded);

    // Anyone may trigger the issuance: floor(15 × 3 / 2) = 22 credits, funded by the class sponsor.
    const receipt = await send(registry, outsider, "issueCredits", deed.deedId);
    const issued = eventsIn(receipt, credits).find((e) => e.name === "CreditsIssued")!.args;
    assert.equal(issued.user, alice.address);
    assert.equal(issued.creditClass, CLASS);
    assert.equal(String(issued.sponsor).toLowerCase(), sponsor);
    assert.equal(issued.amount, 22n);
    assert.equal(issued.deedRef, toHex(deed.deedId));
    assert.equal(issued.issuer, issuer.address);
    assert.equal(await balance(alice.address, CLASS), before + 22n);
    assert.equal(await view(credits, "issuedBySponsor", sponsor, CLASS), sponsored + 22n);
    assert.equal(await deedState(deed), DEED_STATE.credited);

    // Three signers are a quorum as well.
    const all = newDeed({ quantity: 2n });
    await record(all, [0, 1, 2]);
    await send(registry, outsider, "issueCredits", all.deedId);
    assert.equal(await balance(alice.address, CLASS), before + 25n);
  });

  test("refused deeds: nothing is recorded", async () => {
    const deed = newDeed();
    const attestation = await attest(deed);
    const refuse = async (from: Wallet, d: Deed, a: EvmAttestation, code: string) => {
      await rejectsWith(send(registry, from, "recordDeed", evmDeed(d), a), code);
      assert.equal(await deedState(d), DEED_STATE.none);
    };

    await refuse(outsider, deed, attestation, "NOT_DISTRIBUTOR");
    // A distributor of another chain is not one here.
    await send(alliance, deployer, "setRole", DISTRIBUTOR, 2002n, outsider.address, true);
    await refuse(outsider, deed, attestation, "NOT_DISTRIBUTOR");

    // One measurer of three: 1/3 of the weight.
    await refuse(distributor, deed, await attest(deed, [2]), "QUORUM_WEIGHT_NOT_MET");
    // The signer bitfield claims two measurers, the signature is only one's.
    const lone = await attest(deed, [0]);
    await refuse(distributor, deed, { ...attestation, signature: lone.signature }, "BAD_SIGNATURE");
    // A quorum's signature over another deed, or the deed changed after it was signed.
    await refuse(distributor, deed, await attest(newDeed()), "BAD_SIGNATURE");
    await refuse(distributor, { ...deed, quantity: deed.quantity * 10n }, attestation, "BAD_SIGNATURE");
    await refuse(distributor, { ...deed, user: getBytes(outsider.address) }, attestation, "BAD_SIGNATURE");
    // Signed for another registry or another chain.
    const signed = (chainId: bigint, registryAddress: string) =>
      deedAttestation(bls, measurers.committee, measurers.secretKeys, [0, 1], { chainId, registry: getBytes(registryAddress), deed });
    await refuse(distributor, deed, signed(CHAIN, outsider.address), "BAD_SIGNATURE");
    await refuse(distributor, deed, signed(2002n, await registry.getAddress()), "BAD_SIGNATURE");
    // Keys that are not the measurers' behind the measurers' bitfield (a forgery).
    const impostors = measurerCommittee(bls, "impostors");
    const forged = deedAttestation(bls, measurers.committee, impostors.secretKeys, [0, 1], {
      chainId: CHAIN,
      registry: getBytes(await registry.getAddress()),
      deed,
    });
    await refuse(distributor, deed, forged, "BAD_SIGNATURE");
    // Signed by a committee governance did not approve.
    await refuse(distributor, deed, await attest(deed, [0, 1], impostors), "COMMITTEE_HASH_MISMATCH");
    await refuse(distributor, deed, { ...attestation, epoch: 1n }, "EPOCH_MISMATCH");
    await refuse(distributor, deed, { ...attestation, signers: "0x" }, "BITFIELD_LENGTH");

    await refuse(distributor, { ...deed, quantity: 0n }, await attest({ ...deed, quantity: 0n }), "INVALID_DEED");
    const nobody = { ...deed, user: new Uint8Array(20) };
    await refuse(distributor, nobody, await attest(nobody), "INVALID_DEED");

    // Recorded once; a second submission of the same id (even re-signed, even changed) is refused.
    await send(registry, distributor, "recordDeed", evmDeed(deed), attestation);
    await rejectsWith(send(registry, distributor, "recordDeed", evmDeed(deed), attestation), "DUPLICATE_DEED");
    const changed = { ...deed, quantity: 99n };
    await rejectsWith(send(registry, distributor, "recordDeed", evmDeed(changed), await attest(changed)), "DUPLICATE_DEED");
    assert.equal(((await view(registry, "deed", deed.deedId)) as { quantity: bigint }).quantity, deed.quantity);
  });

  test("refused issuance: no credits move and the deed stays uncredited", async () => {
    await send(registry, issuer, "setRule", LOW_CARBON_TRIP, KM, CLASS, 1n, 1n);
    const before = await balance(alice.address, CLASS);

    await rejectsWith(send(registry, outsider, "issueCredits", toHex(sha256(new TextEncoder().encode("never recorded")))), "UNKNOWN_DEED");

    // Credited once only.
    const deed = newDeed({ quantity: 4n });
    await record(deed);
    await send(registry, outsider, "issueCredits", deed.deedId);
    assert.equal(await balance(alice.address, CLASS), before + 4n);
    await rejectsWith(send(registry, outsider, "issueCredits", deed.deedId), "DEED_ALREADY_CREDITED");
    assert.equal(await balance(alice.address, CLASS), before + 4n);

    // No rule for (VOLUNTEERING, HOUR) yet; then a rule whose class has no sponsor.
    const volunteering = newDeed({ category: VOLUNTEERING, unit: HOUR, quantity: 3n });
    await record(volunteering);
    await rejectsWith(send(registry, outsider, "issueCredits", volunteering.deedId), "NO_RULE");
    await send(registry, secondIssuer, "setRule", VOLUNTEERING, HOUR, UNSPONSORED_CLASS, 10n, 1n);
    await rejectsWith(send(registry, outsider, "issueCredits", volunteering.deedId), "SPONSOR_MISMATCH");
    assert.equal(await deedState(volunteering), DEED_STATE.recorded);
    assert.equal(await balance(alice.address, UNSPONSORED_CLASS), 0n);

    // The rule's issuer lost its role: the credits contract refuses, and the deed can be credited later.
    await send(registry, secondIssuer, "setRule", VOLUNTEERING, HOUR, CLASS, 10n, 1n);
    await send(alliance, deployer, "setRole", ISSUER, CHAIN, secondIssuer.address, false);
    await rejectsWith(send(registry, outsider, "issueCredits", volunteering.deedId), "NOT_ISSUER");
    assert.equal(await deedState(volunteering), DEED_STATE.recorded);
    // Another issuer replaces the rule: the same deed is credited by the new one.
    const replaced = await send(registry, issuer, "setRule", VOLUNTEERING, HOUR, CLASS, 2n, 1n);
    assert.equal(eventsIn(replaced, registry)[0]!.name, "RuleSet");
    const rule = (await view(registry, "rule", VOLUNTEERING, HOUR)) as { issuer: string; creditsNumerator: bigint };
    assert.equal(rule.issuer, issuer.address);
    assert.equal(rule.creditsNumerator, 2n);
    await send(registry, outsider, "issueCredits", volunteering.deedId);
    assert.equal(await balance(alice.address, CLASS), before + 4n + 6n);

    // A rule that floors the deed to nothing.
    await send(registry, issuer, "setRule", LOW_CARBON_TRIP, KM, CLASS, 1n, 1000n);
    const short = newDeed({ quantity: 999n });
    await record(short);
    await rejectsWith(send(registry, outsider, "issueCredits", short.deedId), "NOTHING_TO_ISSUE");
    assert.equal(await deedState(short), DEED_STATE.recorded);
  });

  test("rules: only an issuer of this chain sets one, and never an empty one", async () => {
    await rejectsWith(send(registry, outsider, "setRule", LOW_CARBON_TRIP, KM, CLASS, 1n, 1n), "NOT_ISSUER");
    await send(alliance, deployer, "setRole", ISSUER, 2002n, outsider.address, true);
    await rejectsWith(send(registry, outsider, "setRule", LOW_CARBON_TRIP, KM, CLASS, 1n, 1n), "NOT_ISSUER");
    await rejectsWith(send(registry, issuer, "setRule", LOW_CARBON_TRIP, KM, CLASS, 1n, 0n), "INVALID_RULE");
    await rejectsWith(send(registry, issuer, "setRule", LOW_CARBON_TRIP, KM, CLASS, 0n, 1n), "INVALID_RULE");
    await rejectsWith(send(registry, issuer, "setRule", LOW_CARBON_TRIP, KM, toHex(new Uint8Array(32)), 1n, 1n), "INVALID_RULE");
  });

  test("credits: issued only by the deed registry, for an issuer of this chain, with the class's sponsor", async () => {
    // A credits contract whose deed registry is a wallet, to reach the checks the registry never fails.
    const own = await deployContract(deployer, "GoodDeedCredits", [await alliance.getAddress(), distributor.address, outsider.address]);
    const deedRef = toHex(sha256(new TextEncoder().encode("direct")));
    const issue = (from: Wallet, sponsorAddress: string, issuerAddress: string, amount = 5n) =>
      send(own, from, "issue", alice.address, CLASS, amount, sponsorAddress, deedRef, issuerAddress);

    await rejectsWith(issue(issuer, sponsor, issuer.address), "NOT_DEED_REGISTRY");
    await rejectsWith(issue(distributor, sponsor, outsider.address), "NOT_ISSUER");
    await rejectsWith(issue(distributor, outsider.address, issuer.address), "SPONSOR_MISMATCH");
    await rejectsWith(issue(distributor, "0x0000000000000000000000000000000000000000", issuer.address), "SPONSOR_MISMATCH");
    await rejectsWith(issue(distributor, sponsor, issuer.address, 0n), "ZERO_AMOUNT");
    assert.equal(await view(own, "balanceOf", alice.address, CLASS), 0n);
    await issue(distributor, sponsor, issuer.address);
    assert.equal(await view(own, "balanceOf", alice.address, CLASS), 5n);
    // Only the redemption contract locks.
    await rejectsWith(send(own, distributor, "lock", alice.address, CLASS, 1n), "NOT_REDEMPTION_CONTRACT");
  });

  test("a new measurer committee approved by governance must be registered before deeds are recorded again", async () => {
    const next = measurerCommittee(bls, "deed-measurers-2", 1n);
    await approve(next.committee);
    const deed = newDeed();
    // Attested by the committee registered before: no longer the approved one.
    await rejectsWith(send(registry, distributor, "recordDeed", evmDeed(deed), await attest(deed)), "MEASURERS_NOT_REGISTERED");
    await send(registry, outsider, "registerMeasurers", committeeInput(next.committee));
    await rejectsWith(send(registry, distributor, "recordDeed", evmDeed(deed), await attest(deed)), "EPOCH_MISMATCH");
    await send(registry, distributor, "recordDeed", evmDeed(deed), await attest(deed, [1, 2], next));
    assert.equal(await deedState(deed), DEED_STATE.recorded);
  });
});
