/**
 * Measured good deeds (docs/deeds.md, `GoodDeedRegistry.sol`): the measurer committee governance approved
 * is registered with its keys and proofs of possession; a distributor records a deed attested by that
 * committee; an issuer's rule per (category, unit) turns a recorded deed into credits, once.
 *
 * The deed hash and the signing root are the EVM registry's, byte for byte:
 *
 *     deedHash    = SHA-256(deedId ‖ user (20) ‖ category ‖ quantity (32) ‖ unit ‖ measuredBy ‖ measuredAt (u64) ‖ consentRef ‖ envelopeCommitment)
 *     signingRoot = SHA-256("SHANDU-DEED-v1" ‖ committeeSetHash ‖ epoch (u64) ‖ chainId (u64) ‖ registry (20) ‖ deedHash)
 *
 * On Fabric, `registry` is {@link DEED_REGISTRY_ACCOUNT}, the 20-byte account of the application: the last
 * 20 bytes of SHA-256(UTF-8 "shandu"). A client's account hashes `mspId ‖ 0x00 ‖ DER`, which contains a
 * 0x00 byte that the application's name does not, so no client has this account. With the chain id in the
 * root, a signature serves one deed, one committee and this chain's registry only; measurers sign with the
 * same tooling as for an EVM registry (`deedSigningRoot` / `deedAttestation` of `@shandu/deploy`, with this
 * account as the registry address). `user` is the user's 20-byte Fabric account.
 *
 * The measurer committee is given as committee JSON (§4.7, as `ShanduInbox:initialise` takes the genesis)
 * instead of the EVM's (encoding, keys, proofs of possession); it is decoded and validated (§4.5, proofs of
 * possession verified) exactly as the inbox validates a committee, and the attestation is checked as the
 * inbox checks a batch's (§6.4 codes).
 */
import {
  attestationFromJson,
  type Committee,
  committeeFromJson,
  committeeSetHash,
  committeeToJson,
  concatBytes,
  fixedUint,
  nobleBls,
  sha256,
  toHex,
  verifyAttestation,
  verifyCommittee,
} from "@shandu/proofs";
import { Contract } from "fabric-contract-api";
import { hexBytes, parseJsonObject, schema, u64 } from "../config.ts";
import { protocol } from "../errors.ts";
import type { RecipientState } from "../recipients.ts";
import { type ShanduContext, transaction } from "../state.ts";
import { classSponsor, hasRole, measurerCommittee, ROLE } from "./alliance.ts";
import {
  APP_RECIPIENT,
  accountOfSender,
  appState,
  clientAccount,
  isZero,
  readAppConfig,
  rejected,
  U64_MAX,
  U128_MAX,
  U256_MAX,
  u256,
} from "./common.ts";
import { issue } from "./credits.ts";

export const DEED_TAG: Uint8Array = new TextEncoder().encode("SHANDU-DEED-v1");

/** The application's 20-byte account, in the deed signing root where the EVM has the registry's address. */
export const DEED_REGISTRY_ACCOUNT: Uint8Array = accountOfSender(sha256(new TextEncoder().encode(APP_RECIPIENT)));

/** A measured deed (`GoodDeedRegistry.Deed`). */
export interface Deed {
  deedId: Uint8Array;
  user: Uint8Array;
  category: Uint8Array;
  quantity: bigint;
  unit: Uint8Array;
  measuredBy: Uint8Array;
  measuredAt: bigint;
  consentRef: Uint8Array;
  envelopeCommitment: Uint8Array;
}

export function deedHashOf(d: Deed): Uint8Array {
  return sha256(
    concatBytes(
      d.deedId,
      d.user,
      d.category,
      fixedUint(d.quantity, 32, U256_MAX, "quantity"),
      d.unit,
      d.measuredBy,
      fixedUint(d.measuredAt, 8, U64_MAX, "measuredAt"),
      d.consentRef,
      d.envelopeCommitment,
    ),
  );
}

export function deedSigningRootOf(setHash: Uint8Array, epoch: bigint, chainId: bigint, d: Deed): Uint8Array {
  return sha256(
    concatBytes(
      DEED_TAG,
      setHash,
      fixedUint(epoch, 8, U64_MAX, "epoch"),
      fixedUint(chainId, 8, U64_MAX, "chainId"),
      DEED_REGISTRY_ACCOUNT,
      deedHashOf(d),
    ),
  );
}

/** Reads a deed argument: `{deedId, user, category, quantity, unit, measuredBy, measuredAt, consentRef, envelopeCommitment}`. */
export function deedFromJson(text: string): Deed {
  const o = parseJsonObject(text, "deed");
  const b32 = (k: string) => hexBytes(o[k], `deed.${k}`, { length: 32 });
  return {
    deedId: b32("deedId"),
    user: hexBytes(o.user, "deed.user", { length: 20 }),
    category: b32("category"),
    quantity: u256(o.quantity, "deed.quantity"),
    unit: b32("unit"),
    measuredBy: b32("measuredBy"),
    measuredAt: u64(o.measuredAt, "deed.measuredAt"),
    consentRef: b32("consentRef"),
    envelopeCommitment: b32("envelopeCommitment"),
  };
}

interface StoredDeed {
  state: "RECORDED" | "CREDITED";
  user: string;
  category: string;
  unit: string;
  quantity: string;
  measuredBy: string;
  measuredAt: string;
  consentRef: string;
  envelopeCommitment: string;
  distributor: string;
  /** Set when credited: what was issued, of which class, funded by whom, under whose rule. */
  credited?: { creditClass: string; amount: string; sponsor: string; issuer: string };
}

interface StoredRule {
  creditClass: string;
  creditsNumerator: string;
  unitsDenominator: string;
  issuer: string;
}

const K = {
  measurers: (setHash: Uint8Array) => `deeds/measurers/${toHex(setHash).slice(2)}`,
  deed: (deedId: Uint8Array) => `deeds/deed/${toHex(deedId).slice(2)}`,
  rule: (category: Uint8Array, unit: Uint8Array) => `deeds/rule/${toHex(category).slice(2)}/${toHex(unit).slice(2)}`,
};

async function registeredMeasurers(s: RecipientState, setHash: Uint8Array): Promise<Committee | undefined> {
  const stored = await s.getJson<unknown>(K.measurers(setHash));
  return stored === undefined ? undefined : protocol(() => committeeFromJson(stored));
}

/**
 * `ShanduDeeds`: measurer registration, deed records, issuer rules and issuance. Arguments are strings as
 * Fabric passes them (JSON, decimal, `0x` hex); results are JSON.
 */
export class ShanduDeeds extends Contract {
  constructor() {
    super("ShanduDeeds");
  }

  /**
   * Registers the measurer committee governance approved (`committeeJson`, §4.7). Anyone may call. Strict
   * decoding (the codec codes), then `MEASURERS_NOT_APPROVED` unless its set hash is the approved one, then
   * §4.5 with every proof of possession verified (the validator's codes). Registering it again changes
   * nothing (`registered: false`).
   */
  async registerMeasurers(ctx: ShanduContext, committeeJson: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      await readAppConfig(s);
      const c = protocol(() => committeeFromJson(parseJsonObject(committeeJson, "committee"), "committee"));
      const setHash = protocol(() => committeeSetHash(c));
      const approved = await measurerCommittee(s);
      if (isZero(approved) || toHex(approved) !== toHex(setHash)) {
        throw rejected("MEASURERS_NOT_APPROVED", "governance has not approved this measurer committee", {
          committeeSetHash: toHex(setHash),
          approved: toHex(approved),
        });
      }
      if (await s.get(K.measurers(setHash)))
        return JSON.stringify({ committeeSetHash: toHex(setHash), epoch: c.epoch.toString(), registered: false });
      protocol(() => verifyCommittee(c, nobleBls));
      s.putJson(K.measurers(setHash), committeeToJson(c));
      return JSON.stringify({ committeeSetHash: toHex(setHash), epoch: c.epoch.toString(), registered: true });
    });
  }

  /**
   * Records `deedJson` attested by the approved measurer committee (`attestationJson`, §6.3). Only a
   * distributor of this chain. In the EVM order: `NOT_DISTRIBUTOR`, `MEASURERS_NOT_REGISTERED`,
   * `DUPLICATE_DEED`, `INVALID_DEED` (zero quantity or user), then the attestation over the deed's signing
   * root (§6.4 codes: `EPOCH_MISMATCH`, `COMMITTEE_HASH_MISMATCH`, bitfield codes, `EMPTY_SIGNER_SET`,
   * `QUORUM_WEIGHT_NOT_MET`, `QUORUM_GROUP_NOT_MET`, `BAD_SIGNATURE`, …).
   */
  async recordDeed(ctx: ShanduContext, deedJson: string, attestationJson: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      const config = await readAppConfig(s);
      const d = deedFromJson(deedJson);
      const attestation = protocol(() => attestationFromJson(parseJsonObject(attestationJson, "attestation"), "attestation"));
      const distributor = clientAccount(ctx);
      if (!(await hasRole(s, ROLE.distributor, config.chainId, distributor))) {
        throw rejected("NOT_DISTRIBUTOR", "the caller does not hold DISTRIBUTOR on this chain");
      }
      const approved = await measurerCommittee(s);
      const committee = isZero(approved) ? undefined : await registeredMeasurers(s, approved);
      if (!committee) throw rejected("MEASURERS_NOT_REGISTERED", "no approved measurer committee is registered here");
      if (await s.get(K.deed(d.deedId))) throw rejected("DUPLICATE_DEED", "the deed was recorded before", { deedId: toHex(d.deedId) });
      if (d.quantity === 0n || isZero(d.user)) throw rejected("INVALID_DEED", "a deed has a quantity and a user");
      const vc = protocol(() => verifyCommittee(committee, nobleBls));
      const root = deedSigningRootOf(vc.hash, vc.epoch, config.chainId, d);
      protocol(() => verifyAttestation(attestation, vc, root, nobleBls));
      s.putJson(K.deed(d.deedId), {
        state: "RECORDED",
        user: toHex(d.user),
        category: toHex(d.category),
        unit: toHex(d.unit),
        quantity: d.quantity.toString(),
        measuredBy: toHex(d.measuredBy),
        measuredAt: d.measuredAt.toString(),
        consentRef: toHex(d.consentRef),
        envelopeCommitment: toHex(d.envelopeCommitment),
        distributor: toHex(distributor),
      } satisfies StoredDeed);
      return JSON.stringify({
        deedId: toHex(d.deedId),
        deedHash: toHex(deedHashOf(d)),
        signingRoot: toHex(root),
        distributor: toHex(distributor),
      });
    });
  }

  /**
   * Sets (or replaces) the rule for (`categoryHex`, `unitHex`): `creditsNumerator / unitsDenominator`
   * credits of `creditClassHex` per unit (u128 each). Only an issuer of this chain (`NOT_ISSUER`), who is
   * recorded as the rule's issuer; a zero class, numerator or denominator is `INVALID_RULE`.
   */
  async setRule(
    ctx: ShanduContext,
    categoryHex: string,
    unitHex: string,
    creditClassHex: string,
    creditsNumerator: string,
    unitsDenominator: string,
  ): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      const config = await readAppConfig(s);
      const category = hexBytes(categoryHex, "category", { length: 32 });
      const unit = hexBytes(unitHex, "unit", { length: 32 });
      const creditClass = hexBytes(creditClassHex, "creditClass", { length: 32 });
      const num = u128(creditsNumerator, "creditsNumerator");
      const den = u128(unitsDenominator, "unitsDenominator");
      const issuer = clientAccount(ctx);
      if (!(await hasRole(s, ROLE.issuer, config.chainId, issuer)))
        throw rejected("NOT_ISSUER", "the caller does not hold ISSUER on this chain");
      if (isZero(creditClass) || num === 0n || den === 0n)
        throw rejected("INVALID_RULE", "a rule has a class, a numerator and a denominator");
      const rule: StoredRule = {
        creditClass: toHex(creditClass),
        creditsNumerator: num.toString(),
        unitsDenominator: den.toString(),
        issuer: toHex(issuer),
      };
      s.putJson(K.rule(category, unit), rule);
      return JSON.stringify({ category: toHex(category), unit: toHex(unit), ...rule });
    });
  }

  /**
   * Issues the credits of recorded deed `deedIdHex` by its (category, unit) rule, to its user, funded by
   * the class's sponsor. Anyone may call; once per deed. `UNKNOWN_DEED`, `DEED_ALREADY_CREDITED`, `NO_RULE`,
   * `AMOUNT_OVERFLOW`, `NOTHING_TO_ISSUE`, then the credits' `NOT_ISSUER` (the rule's issuer lost ISSUER)
   * and `SPONSOR_MISMATCH` (the class has no sponsor).
   */
  async issueCredits(ctx: ShanduContext, deedIdHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      const config = await readAppConfig(s);
      const deedId = hexBytes(deedIdHex, "deedId", { length: 32 });
      const r = await s.getJson<StoredDeed>(K.deed(deedId));
      if (!r) throw rejected("UNKNOWN_DEED", "no deed of this id is recorded");
      if (r.state === "CREDITED") throw rejected("DEED_ALREADY_CREDITED", "the deed's credits were issued");
      const category = hexBytes(r.category, "stored");
      const unit = hexBytes(r.unit, "stored");
      const rule = await s.getJson<StoredRule>(K.rule(category, unit));
      if (!rule) throw rejected("NO_RULE", "no issuer's rule for the deed's category and unit");
      const q = BigInt(r.quantity);
      const num = BigInt(rule.creditsNumerator);
      if (q > U256_MAX / num) throw rejected("AMOUNT_OVERFLOW", "quantity × numerator exceeds uint256");
      const amount = (q * num) / BigInt(rule.unitsDenominator);
      if (amount === 0n) throw rejected("NOTHING_TO_ISSUE", "the rule floors the quantity to 0 credits");
      const creditClass = hexBytes(rule.creditClass, "stored");
      const sponsor = await classSponsor(s, creditClass);
      const issuer = hexBytes(rule.issuer, "stored");
      const credited = { creditClass: rule.creditClass, amount: amount.toString(), sponsor: toHex(sponsor), issuer: rule.issuer };
      s.putJson(K.deed(deedId), { ...r, state: "CREDITED", credited } satisfies StoredDeed);
      await issue(s, config.chainId, { user: hexBytes(r.user, "stored"), creditClass, amount, sponsor, deedRef: deedId, issuer });
      return JSON.stringify({ deedId: toHex(deedId), ...credited });
    });
  }

  /** The deed record of `deedIdHex`, or `{"state": "NONE"}`. */
  async deed(ctx: ShanduContext, deedIdHex: string): Promise<string> {
    return transaction(ctx, async (state) =>
      JSON.stringify(
        (await appState(state).getJson<StoredDeed>(K.deed(hexBytes(deedIdHex, "deedId", { length: 32 })))) ?? { state: "NONE" },
      ),
    );
  }

  /** The rule for (`categoryHex`, `unitHex`), or `null`. */
  async rule(ctx: ShanduContext, categoryHex: string, unitHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const k = K.rule(hexBytes(categoryHex, "category", { length: 32 }), hexBytes(unitHex, "unit", { length: 32 }));
      return JSON.stringify((await appState(state).getJson<StoredRule>(k)) ?? null);
    });
  }

  /** What the approved measurer committee signs for `deedJson` here: the signing root, hex. `MEASURERS_NOT_REGISTERED` without one. */
  async deedSigningRoot(ctx: ShanduContext, deedJson: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      const config = await readAppConfig(s);
      const d = deedFromJson(deedJson);
      const approved = await measurerCommittee(s);
      const committee = isZero(approved) ? undefined : await registeredMeasurers(s, approved);
      if (!committee) throw rejected("MEASURERS_NOT_REGISTERED", "no approved measurer committee is registered here");
      return toHex(deedSigningRootOf(approved, committee.epoch, config.chainId, d));
    });
  }
}

function u128(v: string, path: string): bigint {
  const x = u256(v, path);
  if (x > U128_MAX) throw schema(path, "a uint128 as a decimal string");
  return x;
}
