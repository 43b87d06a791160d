/**
 * Committees, quorum policies and `committeeSetHash` (docs/protocol.md §4).
 *
 * A committee is the ordered member list of one epoch plus its quorum policy; member i is bit i of an
 * attestation's signer bitfield. A committee is only used after {@link verifyCommittee} has checked every
 * member's BLS key (curve, subgroup, not infinity) and proof of possession — without that check a
 * rogue key `pk_r = x·g1 − pk_victim` could forge a same-message aggregate.
 *
 * Quorum: a signer set S satisfies the policy when `weight(S)·denominator ≥ numerator·totalWeight` and,
 * for every group rule, S holds at least `minSigners` members of that group.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import type { Bls } from "./bls/bls.ts";
import type { BlsPublicKey } from "./bls/interface.ts";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "./bls/interface.ts";
import { ByteReader, ByteWriter, bytesEqual, toHex, U64_MAX, utf8 } from "./bytes.ts";
import { AttestationError, BlsError, CodecError, CommitteeError } from "./errors.ts";
import { sm2PointValid } from "./fisco/crypto.ts";
import { DOMAIN, sha256Concat } from "./hash.ts";

export const MAX_COMMITTEE_MEMBERS = 1024;
export const MAX_NAME_BYTES = 64;
export const MAX_NATIVE_KEYS = 4;

/** Chain-native key schemes, for destinations without a BLS verifier (FISCO BCOS, some Substrate). */
export const NativeKeyScheme = { secp256k1: 1, sm2: 2 } as const;
export type NativeKeySchemeName = keyof typeof NativeKeyScheme;
const SCHEME_BY_CODE = new Map<number, NativeKeySchemeName>([
  [1, "secp256k1"],
  [2, "sm2"],
]);
/** secp256k1: 33-byte compressed or 65-byte uncompressed SEC1; SM2: 65-byte uncompressed. */
const NATIVE_KEY_LENGTHS: Record<NativeKeySchemeName, number[]> = { secp256k1: [33, 65], sm2: [65] };

export interface NativeKey {
  scheme: NativeKeySchemeName;
  publicKey: Uint8Array;
}

export interface CommitteeMember {
  /** Stable member name, e.g. "shanghai-lowcarbon-1" (UTF-8, ≤ 64 bytes). */
  id: string;
  /** Organisation or alliance the member belongs to (UTF-8, ≤ 64 bytes). Group rules refer to it. */
  group: string;
  /** Voting weight, integer ≥ 1. */
  weight: number;
  /** 48-byte compressed G1 key. Untrusted until {@link verifyCommittee}. */
  blsPublicKey: Uint8Array;
  /** 96-byte proof of possession of `blsPublicKey`. */
  proofOfPossession: Uint8Array;
  nativeKeys: NativeKey[];
}

export interface GroupRule {
  group: string;
  minSigners: number;
}

export interface QuorumPolicy {
  /** Fraction of total weight that must sign: `signed·denominator ≥ numerator·total`; must exceed 1/2. */
  threshold: { numerator: number; denominator: number };
  groups: GroupRule[];
}

export interface Committee {
  epoch: bigint;
  members: CommitteeMember[];
  policy: QuorumPolicy;
}

/** Canonical committee encoding (the preimage of `committeeSetHash`, after the domain tag). */
export function encodeCommittee(c: Committee): Uint8Array {
  if (c.epoch < 0n || c.epoch > U64_MAX) throw new CodecError("VALUE_OUT_OF_RANGE", "committee epoch must be a u64");
  if (c.members.length === 0) throw new CommitteeError("EMPTY_COMMITTEE", "a committee needs at least one member");
  if (c.members.length > MAX_COMMITTEE_MEMBERS) {
    throw new CommitteeError("TOO_MANY_MEMBERS", "committee is larger than allowed", {
      facts: { members: c.members.length, max: MAX_COMMITTEE_MEMBERS },
    });
  }
  const w = new ByteWriter(64 + c.members.length * 200);
  w.u64(c.epoch).u16(c.members.length);
  for (const m of c.members) {
    w.bytes8(name(m.id, "member id")).bytes8(name(m.group, "member group"));
    if (!Number.isInteger(m.weight) || m.weight < 1 || m.weight > 0xffff_ffff) {
      throw new CommitteeError("INVALID_WEIGHT", "member weight must be an integer in [1, 2^32)", {
        facts: { member: m.id, weight: m.weight },
      });
    }
    w.u32(m.weight);
    fixed(m.blsPublicKey, PUBLIC_KEY_BYTES, "blsPublicKey");
    fixed(m.proofOfPossession, SIGNATURE_BYTES, "proofOfPossession");
    w.bytes(m.blsPublicKey).bytes(m.proofOfPossession);
    if (m.nativeKeys.length > MAX_NATIVE_KEYS) {
      throw new CodecError("FIELD_TOO_LONG", "too many native keys", { facts: { member: m.id, max: MAX_NATIVE_KEYS } });
    }
    w.u8(m.nativeKeys.length);
    for (const k of m.nativeKeys) {
      const code = Object.hasOwn(NativeKeyScheme, k.scheme) ? NativeKeyScheme[k.scheme] : undefined;
      if (code === undefined || !NATIVE_KEY_LENGTHS[k.scheme].includes(k.publicKey.length)) {
        throw new CommitteeError("INVALID_NATIVE_KEY", "native key has an unknown scheme or a wrong length", {
          facts: { member: m.id, scheme: k.scheme, length: k.publicKey.length },
        });
      }
      w.u8(code).bytes8(k.publicKey);
    }
  }
  const { numerator, denominator } = c.policy.threshold;
  for (const [field, v] of [
    ["numerator", numerator],
    ["denominator", denominator],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new CommitteeError("INVALID_THRESHOLD", "threshold terms must be u32 integers", { facts: { [field]: v } });
    }
  }
  w.u32(numerator).u32(denominator);
  if (c.policy.groups.length > 255) throw new CodecError("FIELD_TOO_LONG", "too many group rules", { facts: { max: 255 } });
  w.u8(c.policy.groups.length);
  for (const g of c.policy.groups) {
    if (!Number.isInteger(g.minSigners) || g.minSigners < 1 || g.minSigners > 0xffff) {
      throw new CommitteeError("INVALID_THRESHOLD", "group minimum must be an integer in [1, 65535]", { facts: { group: g.group } });
    }
    w.bytes8(name(g.group, "rule group")).u16(g.minSigners);
  }
  return w.finish();
}

/** Strict decoding of a committee encoding. Structural only: call {@link verifyCommittee} before use. */
export function decodeCommittee(bytes: Uint8Array): Committee {
  const r = new ByteReader(bytes, "committee");
  const epoch = r.u64("epoch");
  const count = r.u16("member count");
  if (count === 0) throw new CommitteeError("EMPTY_COMMITTEE", "a committee needs at least one member");
  if (count > MAX_COMMITTEE_MEMBERS)
    throw new CommitteeError("TOO_MANY_MEMBERS", "committee is larger than allowed", { facts: { members: count } });
  const members: CommitteeMember[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.string8(MAX_NAME_BYTES, "member id");
    const group = r.string8(MAX_NAME_BYTES, "member group");
    const weight = r.u32("weight");
    const blsPublicKey = r.bytes(PUBLIC_KEY_BYTES, "blsPublicKey");
    const proofOfPossession = r.bytes(SIGNATURE_BYTES, "proofOfPossession");
    const n = r.u8("native key count");
    if (n > MAX_NATIVE_KEYS) throw new CodecError("FIELD_TOO_LONG", "too many native keys", { facts: { member: id } });
    const nativeKeys: NativeKey[] = [];
    for (let k = 0; k < n; k++) {
      const code = r.u8("native key scheme");
      const scheme = SCHEME_BY_CODE.get(code);
      if (!scheme) throw new CommitteeError("INVALID_NATIVE_KEY", "unknown native key scheme", { facts: { member: id, scheme: code } });
      nativeKeys.push({ scheme, publicKey: r.bytes8(65, "native key") });
    }
    members.push({ id, group, weight, blsPublicKey, proofOfPossession, nativeKeys });
  }
  const numerator = r.u32("threshold numerator");
  const denominator = r.u32("threshold denominator");
  const rules = r.u8("group rule count");
  const groups: GroupRule[] = [];
  for (let i = 0; i < rules; i++) groups.push({ group: r.string8(MAX_NAME_BYTES, "rule group"), minSigners: r.u16("minSigners") });
  r.end();
  const c = { epoch, members, policy: { threshold: { numerator, denominator }, groups } };
  encodeCommittee(c); // range checks shared with the encoder
  return c;
}

/**
 * True when `a` and `b` have the same canonical encoding (so the same `committeeSetHash`), compared
 * field by field without encoding or hashing. Use it where one side is known to encode (a trusted
 * genesis): a committee that would not encode then compares unequal.
 */
export function sameCommittee(a: Committee, b: Committee): boolean {
  if (a === b) return true;
  if (a.epoch !== b.epoch || a.members.length !== b.members.length) return false;
  for (let i = 0; i < a.members.length; i++) {
    const x = a.members[i]!;
    const y = b.members[i]!;
    if (x.id !== y.id || x.group !== y.group || x.weight !== y.weight) return false;
    if (!bytesEqual(x.blsPublicKey, y.blsPublicKey) || !bytesEqual(x.proofOfPossession, y.proofOfPossession)) return false;
    if (x.nativeKeys.length !== y.nativeKeys.length) return false;
    for (let k = 0; k < x.nativeKeys.length; k++) {
      const u = x.nativeKeys[k]!;
      const v = y.nativeKeys[k]!;
      if (u.scheme !== v.scheme || !bytesEqual(u.publicKey, v.publicKey)) return false;
    }
  }
  const p = a.policy;
  const q = b.policy;
  if (p.threshold.numerator !== q.threshold.numerator || p.threshold.denominator !== q.threshold.denominator) return false;
  if (p.groups.length !== q.groups.length) return false;
  return p.groups.every((g, i) => g.group === q.groups[i]!.group && g.minSigners === q.groups[i]!.minSigners);
}

/** `SHA-256("SHANDU-COMMITTEE-v1" ‖ encodeCommittee(c))`. */
export function committeeSetHash(c: Committee): Uint8Array {
  return sha256Concat(DOMAIN.committee, encodeCommittee(c));
}

function name(s: string, field: string): Uint8Array {
  if (typeof s !== "string" || !s.isWellFormed()) {
    throw new CodecError("BAD_LENGTH", `${field} must be well-formed text`, { facts: { field } });
  }
  const b = utf8(s);
  if (b.length === 0 || b.length > MAX_NAME_BYTES) {
    throw new CodecError("FIELD_TOO_LONG", `${field} must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8`, { facts: { field, value: s } });
  }
  return b;
}

function fixed(b: Uint8Array, len: number, field: string): void {
  if (!(b instanceof Uint8Array) || b.length !== len) {
    throw new CodecError("BAD_LENGTH", `${field} must be ${len} bytes`, { facts: { field, length: b?.length } });
  }
}

function nativeKeyIsPoint(k: NativeKey): boolean {
  if (k.scheme === "sm2") return k.publicKey.length === 65 && k.publicKey[0] === 4 && sm2PointValid(k.publicKey.subarray(1));
  try {
    secp256k1.Point.fromBytes(k.publicKey).assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** A committee whose keys and proofs of possession were checked. Only these are used to verify. */
export interface VerifiedCommittee {
  readonly committee: Committee;
  readonly epoch: bigint;
  readonly hash: Uint8Array;
  readonly keys: readonly BlsPublicKey[];
  readonly totalWeight: number;
}

const verified = new Map<string, VerifiedCommittee>();

/**
 * Checks a committee for use: unique member ids and keys, valid BLS keys with valid proofs of
 * possession, weights, a threshold above one half, and group rules that name existing groups and can be
 * met. Throws {@link CommitteeError}. Results are cached by `committeeSetHash` and backend.
 */
export function verifyCommittee(c: Committee, bls: Bls): VerifiedCommittee {
  const hash = committeeSetHash(c);
  const cacheKey = `${bls.name}:${toHex(hash)}`;
  const hit = verified.get(cacheKey);
  if (hit) return hit;

  const ids = new Set<string>();
  const keyHex = new Set<string>();
  const groupSizes = new Map<string, number>();
  const keys: BlsPublicKey[] = [];
  let totalWeight = 0;
  for (const m of c.members) {
    if (ids.has(m.id)) throw new CommitteeError("DUPLICATE_MEMBER_ID", "two members share an id", { facts: { member: m.id } });
    ids.add(m.id);
    let key: BlsPublicKey;
    try {
      key = bls.publicKey(m.blsPublicKey);
    } catch (cause) {
      if (!(cause instanceof BlsError)) throw cause;
      throw new CommitteeError("INVALID_MEMBER_KEY", `member ${m.id} has an invalid BLS public key: ${cause.shortMessage}`, {
        facts: { member: m.id, reason: cause.code },
        cause,
      });
    }
    if (keyHex.has(key.hex)) throw new CommitteeError("DUPLICATE_PUBLIC_KEY", "two members share a BLS key", { facts: { member: m.id } });
    for (const k of m.nativeKeys) {
      if (!nativeKeyIsPoint(k)) {
        throw new CommitteeError("INVALID_NATIVE_KEY", `member ${m.id} has a ${k.scheme} key that is not a point of its curve`, {
          facts: { member: m.id, scheme: k.scheme },
        });
      }
    }
    keyHex.add(key.hex);
    keys.push(key);
    totalWeight += m.weight;
    groupSizes.set(m.group, (groupSizes.get(m.group) ?? 0) + 1);
  }
  // All proofs of possession in one randomised check; on failure the first bad member is named.
  const pops = bls.verifyPossessions(keys.map((key, i) => ({ publicKey: key, proof: c.members[i]!.proofOfPossession })));
  const bad = pops.invalid[0];
  if (bad !== undefined) {
    const id = c.members[bad]!.id;
    throw new CommitteeError("INVALID_PROOF_OF_POSSESSION", `member ${id} did not prove possession of its BLS key`, {
      facts: { member: id },
    });
  }
  const { numerator, denominator } = c.policy.threshold;
  if (denominator === 0 || numerator > denominator || 2 * numerator <= denominator) {
    throw new CommitteeError("INVALID_THRESHOLD", "the weight threshold must be a fraction above 1/2 and at most 1", {
      facts: { numerator, denominator },
    });
  }
  const ruled = new Set<string>();
  for (const g of c.policy.groups) {
    if (ruled.has(g.group)) throw new CommitteeError("INVALID_THRESHOLD", "two rules for one group", { facts: { group: g.group } });
    ruled.add(g.group);
    const size = groupSizes.get(g.group);
    if (size === undefined)
      throw new CommitteeError("UNKNOWN_GROUP", "a quorum rule names a group with no members", { facts: { group: g.group } });
    if (size < g.minSigners) {
      throw new CommitteeError("POLICY_UNSATISFIABLE", "a quorum rule asks for more signers than the group has", {
        facts: { group: g.group, minSigners: g.minSigners, members: size },
      });
    }
  }
  const result: VerifiedCommittee = { committee: c, epoch: c.epoch, hash, keys, totalWeight };
  if (verified.size > 1024) verified.clear();
  verified.set(cacheKey, result);
  return result;
}

export interface QuorumResult {
  signerIndices: number[];
  signedWeight: number;
}

/**
 * Checks a signer set (member indices, already de-duplicated) against the committee's policy. Throws
 * {@link AttestationError} `EMPTY_SIGNER_SET`, `QUORUM_WEIGHT_NOT_MET` or `QUORUM_GROUP_NOT_MET`.
 */
export function checkQuorum(vc: VerifiedCommittee, signerIndices: readonly number[]): QuorumResult {
  if (signerIndices.length === 0) throw new AttestationError("EMPTY_SIGNER_SET", "no member signed");
  let signedWeight = 0;
  const perGroup = new Map<string, number>();
  for (const i of signerIndices) {
    const m = vc.committee.members[i];
    if (!m) throw new AttestationError("BITFIELD_LENGTH", "signer index outside the committee", { facts: { index: i } });
    signedWeight += m.weight;
    perGroup.set(m.group, (perGroup.get(m.group) ?? 0) + 1);
  }
  const { numerator, denominator } = vc.committee.policy.threshold;
  if (BigInt(signedWeight) * BigInt(denominator) < BigInt(numerator) * BigInt(vc.totalWeight)) {
    throw new AttestationError("QUORUM_WEIGHT_NOT_MET", "the signers do not carry enough weight", {
      facts: { signedWeight, totalWeight: vc.totalWeight, threshold: `${numerator}/${denominator}` },
    });
  }
  for (const g of vc.committee.policy.groups) {
    const have = perGroup.get(g.group) ?? 0;
    if (have < g.minSigners) {
      throw new AttestationError("QUORUM_GROUP_NOT_MET", `group ${g.group} has too few signers`, {
        facts: { group: g.group, have, need: g.minSigners },
      });
    }
  }
  return { signerIndices: [...signerIndices], signedWeight };
}
