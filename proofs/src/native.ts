/**
 * Native co-signatures (docs/protocol.md §6.5): for destinations without a BLS verifier (FISCO BCOS has
 * no BLS12-381 precompile), committee members also sign each signing root with a chain-native key, and
 * the destination checks k-of-n of those under the committee's own quorum policy.
 *
 * What is signed: `nativeDigest = SHA-256("SHANDU-NATIVE-v1" ‖ u8 scheme ‖ signingRoot)`, where
 * `signingRoot` is the §6.1 batch signing root or the §7.2 rotation signing root (so native signatures
 * are bound to the same committee, epoch, lane and range as the BLS ones) and `scheme` is the code of
 * §4.2 (1 = secp256k1, 2 = SM2). The domain tag keeps the digest apart from anything else a native key
 * signs, such as transactions.
 *
 * - **secp256k1**: `r ‖ s ‖ v` (65 bytes) over the digest itself (no message prefix), `v ∈ {27, 28}`,
 *   low `s` (`s ≤ n/2`), so that `ecrecover(digest, v, r, s)` names the member's address.
 * - **SM2**: `r ‖ s` (64 bytes), GB/T 32918.2 with the default user id: `e = SM3(Z_A ‖ digest)`. This is
 *   what FISCO BCOS's `CryptoPrecompiled.sm2Verify(digest, publicKey, r, s)` checks.
 *
 * A member's key for a scheme is the first of its `nativeKeys` with that scheme; a member without one
 * cannot co-sign for that scheme. The quorum is the committee's policy over its total weight, exactly as
 * for BLS: members without a key count towards the total and never towards the signed weight.
 *
 * The native attestation is the signer bitfield of §6.3 plus the signatures in increasing member order.
 * Unlike BLS there is no aggregation and no rogue-key risk: each signature is checked on its own key.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { checkEpoch, makeBitfield, readBitfield, type VerifiedAttestation } from "./attestation.ts";
import { ByteReader, ByteWriter, bytesEqual, concatBytes } from "./bytes.ts";
import {
  type CommitteeMember,
  checkQuorum,
  MAX_COMMITTEE_MEMBERS,
  NativeKeyScheme,
  type NativeKeySchemeName,
  type VerifiedCommittee,
} from "./committee.ts";
import { AttestationError, CodecError, CommitteeError } from "./errors.ts";
import { publicKeyOf, sm2PointValid, sm2Sign, sm2Verify } from "./fisco/crypto.ts";
import { DOMAIN, sha256Concat } from "./hash.ts";

/** Bytes of one native signature, per scheme. */
export const NATIVE_SIGNATURE_BYTES: Record<NativeKeySchemeName, number> = { secp256k1: 65, sm2: 64 };

const SECP_N = secp256k1.Point.CURVE().n;

function schemeCode(scheme: NativeKeySchemeName): number {
  const code = Object.hasOwn(NativeKeyScheme, scheme) ? NativeKeyScheme[scheme] : undefined;
  if (code === undefined) throw new CodecError("VALUE_OUT_OF_RANGE", "unknown native key scheme", { facts: { scheme: String(scheme) } });
  return code;
}

/** `SHA-256("SHANDU-NATIVE-v1" ‖ u8 scheme ‖ signingRoot)`: the 32 bytes a native key signs. */
export function nativeDigest(scheme: NativeKeySchemeName, signingRoot: Uint8Array): Uint8Array {
  if (signingRoot.length !== 32) throw new CodecError("BAD_LENGTH", "a signing root is 32 bytes");
  return sha256Concat(DOMAIN.native, Uint8Array.of(schemeCode(scheme)), signingRoot);
}

/**
 * The member's key for `scheme` as 64 bytes `x ‖ y` (uncompressed, without the 0x04 prefix), or `null`
 * when it has none. Throws `CommitteeError` `INVALID_NATIVE_KEY` when the key is not a point of the
 * scheme's curve.
 */
export function memberNativeKey(member: CommitteeMember, scheme: NativeKeySchemeName): Uint8Array | null {
  const key = member.nativeKeys.find((k) => k.scheme === scheme);
  if (!key) return null;
  const invalid = () =>
    new CommitteeError("INVALID_NATIVE_KEY", `member ${member.id} has a ${scheme} key that is not a curve point`, {
      facts: { member: member.id, scheme },
    });
  if (scheme === "secp256k1") {
    try {
      return secp256k1.Point.fromBytes(key.publicKey).toBytes(false).subarray(1);
    } catch {
      throw invalid();
    }
  }
  if (key.publicKey.length !== 65 || key.publicKey[0] !== 4 || !sm2PointValid(key.publicKey.subarray(1))) throw invalid();
  return key.publicKey.subarray(1);
}

/** The SEC1 uncompressed form (65 bytes) of a member's native public key, for a committee entry. */
export function nativePublicKey(scheme: NativeKeySchemeName, secretKey: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(4), publicKeyOf(scheme === "sm2" ? "sm" : "ecdsa", secretKey));
}

/** Signs `nativeDigest(scheme, signingRoot)` with a 32-byte secret key, in the scheme's §6.5 form. */
export function signNative(scheme: NativeKeySchemeName, secretKey: Uint8Array, signingRoot: Uint8Array): Uint8Array {
  const digest = nativeDigest(scheme, signingRoot);
  if (scheme === "sm2") return sm2Sign(digest, secretKey);
  const sig = secp256k1.sign(digest, secretKey, { prehash: false, lowS: true, format: "recovered" });
  // noble's recovered format is v ‖ r ‖ s with v ∈ {0, 1}; the wire form is r ‖ s ‖ (27 + v).
  return concatBytes(sig.subarray(1), Uint8Array.of(27 + sig[0]!));
}

/** Whether `signature` is a valid §6.5 signature by `publicKey64` over `signingRoot`. Never throws on bad input. */
export function verifyNativeSignature(
  scheme: NativeKeySchemeName,
  publicKey64: Uint8Array,
  signingRoot: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== NATIVE_SIGNATURE_BYTES[scheme] || publicKey64.length !== 64) return false;
  const digest = nativeDigest(scheme, signingRoot);
  if (scheme === "sm2") return sm2Verify(signature, digest, publicKey64);
  const v = signature[64]!;
  if (v !== 27 && v !== 28) return false;
  try {
    const sig = secp256k1.Signature.fromBytes(signature.subarray(0, 64), "compact");
    if (sig.r === 0n || sig.s === 0n || sig.s > SECP_N >> 1n) return false;
    const recovered = sig
      .addRecoveryBit(v - 27)
      .recoverPublicKey(digest)
      .toBytes(false)
      .subarray(1);
    return bytesEqual(recovered, publicKey64);
  } catch {
    return false;
  }
}

/** A k-of-n native co-signature over one signing root (§6.5). */
export interface NativeAttestation {
  scheme: NativeKeySchemeName;
  epoch: bigint;
  committeeSetHash: Uint8Array;
  /** Signer bitfield, as in §6.3. */
  signers: Uint8Array;
  /** One signature per set bit, in increasing member order. */
  signatures: Uint8Array[];
}

export interface NativePartial {
  memberIndex: number;
  signature: Uint8Array;
}

function keyOf(vc: VerifiedCommittee, scheme: NativeKeySchemeName, index: number): Uint8Array {
  const member = vc.committee.members[index];
  if (!member) throw new AttestationError("PARTIAL_FROM_UNKNOWN_MEMBER", "signer index outside the committee", { facts: { index } });
  const key = memberNativeKey(member, scheme);
  if (!key) {
    throw new AttestationError("NATIVE_KEY_MISSING", `member ${member.id} has no ${scheme} key in this committee`, {
      facts: { member: member.id, scheme },
    });
  }
  return key;
}

/**
 * Checks every member's native signature over `signingRoot` and, once the policy is met, returns the
 * native attestation. Throws {@link AttestationError}: `PARTIAL_FROM_UNKNOWN_MEMBER`, `DUPLICATE_PARTIAL`,
 * `NATIVE_KEY_MISSING`, `NATIVE_SIGNATURE_INVALID` (naming the member), or the quorum codes.
 */
export function aggregateNative(
  vc: VerifiedCommittee,
  scheme: NativeKeySchemeName,
  signingRoot: Uint8Array,
  partials: readonly NativePartial[],
): NativeAttestation {
  const sorted = [...partials].sort((a, b) => a.memberIndex - b.memberIndex);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.memberIndex === sorted[i - 1]!.memberIndex) {
      throw new AttestationError("DUPLICATE_PARTIAL", "two native signatures from one member", {
        facts: { memberIndex: sorted[i]!.memberIndex },
      });
    }
  }
  for (const p of sorted) {
    if (!verifyNativeSignature(scheme, keyOf(vc, scheme, p.memberIndex), signingRoot, p.signature)) {
      const id = vc.committee.members[p.memberIndex]!.id;
      throw new AttestationError("NATIVE_SIGNATURE_INVALID", `member ${id}'s ${scheme} co-signature does not verify`, {
        facts: { member: id, scheme },
      });
    }
  }
  const indices = sorted.map((p) => p.memberIndex);
  checkQuorum(vc, indices);
  return {
    scheme,
    epoch: vc.epoch,
    committeeSetHash: vc.hash,
    signers: makeBitfield(vc.committee.members.length, indices),
    signatures: sorted.map((p) => p.signature),
  };
}

/**
 * Verifies a native attestation against a verified committee and a signing root the verifier computed
 * itself, with the checks (and codes) an on-chain native verifier applies: epoch, committee hash,
 * bitfield, signature count, keys, each signature, quorum.
 */
export function verifyNativeAttestation(att: NativeAttestation, vc: VerifiedCommittee, signingRoot: Uint8Array): VerifiedAttestation {
  if (att.epoch !== vc.epoch) {
    throw new AttestationError("EPOCH_MISMATCH", "native attestation epoch differs from the committee's", {
      facts: { attestation: att.epoch, committee: vc.epoch },
    });
  }
  if (!bytesEqual(att.committeeSetHash, vc.hash))
    throw new AttestationError("COMMITTEE_HASH_MISMATCH", "native attestation names a different committee set");
  const indices = readBitfield(att.signers, vc.committee.members.length);
  if (indices.length === 0) throw new AttestationError("EMPTY_SIGNER_SET", "no member signed");
  if (att.signatures.length !== indices.length) {
    throw new AttestationError("NATIVE_SIGNATURES_LENGTH", "one native signature per signer is needed", {
      facts: { signers: indices.length, signatures: att.signatures.length },
    });
  }
  // Checks each signature on its member's key, then the quorum.
  aggregateNative(
    vc,
    att.scheme,
    signingRoot,
    indices.map((memberIndex, i) => ({ memberIndex, signature: att.signatures[i]! })),
  );
  const { signedWeight } = checkQuorum(vc, indices);
  return { signerIndices: indices, signerIds: indices.map((i) => vc.committee.members[i]!.id), signedWeight };
}

const SCHEMES: Record<number, NativeKeySchemeName> = { 1: "secp256k1", 2: "sm2" };

/** Binary form: `u8 scheme ‖ epoch u64 ‖ committeeSetHash 32 ‖ bitfield (u16 len) ‖ u16 count ‖ signatures`. */
export function encodeNativeAttestation(a: NativeAttestation): Uint8Array {
  checkEpoch(a.epoch);
  const size = NATIVE_SIGNATURE_BYTES[a.scheme];
  if (a.committeeSetHash.length !== 32 || a.signatures.some((s) => s.length !== size) || a.signatures.length > MAX_COMMITTEE_MEMBERS) {
    throw new CodecError("BAD_LENGTH", `a native attestation has a 32-byte hash and ${size}-byte signatures`);
  }
  const w = new ByteWriter(48 + a.signers.length + a.signatures.length * size)
    .u8(schemeCode(a.scheme))
    .u64(a.epoch)
    .bytes(a.committeeSetHash)
    .bytes16(a.signers)
    .u16(a.signatures.length);
  for (const s of a.signatures) w.bytes(s);
  return w.finish();
}

export function decodeNativeAttestation(bytes: Uint8Array): NativeAttestation {
  const r = new ByteReader(bytes, "native attestation");
  const code = r.u8("scheme");
  const scheme = SCHEMES[code];
  if (!scheme) throw new CodecError("VALUE_OUT_OF_RANGE", "unknown native key scheme", { facts: { scheme: code } });
  const epoch = r.u64("epoch");
  const committeeSetHash = r.bytes(32, "committeeSetHash");
  const signers = r.bytes16((MAX_COMMITTEE_MEMBERS + 7) >> 3, "signer bitfield");
  const count = r.u16("signature count");
  if (count > MAX_COMMITTEE_MEMBERS) throw new CodecError("FIELD_TOO_LONG", "too many native signatures");
  const signatures: Uint8Array[] = [];
  for (let i = 0; i < count; i++) signatures.push(r.bytes(NATIVE_SIGNATURE_BYTES[scheme], "native signature"));
  r.end();
  return { scheme, epoch, committeeSetHash, signers, signatures };
}
