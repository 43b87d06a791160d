/**
 * BLS12-381 signatures, min-pk variant (48-byte G1 public keys, 96-byte G2 signatures), ciphersuite
 * `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` with proofs of possession under
 * `BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` (draft-irtf-cfrg-bls-signature-05 §4.2.3).
 *
 * Verification checks `e(pk, H(m)) == e(g1, σ)`; a same-message aggregate checks
 * `e(Σ pk_i, H(m)) == e(g1, Σ σ_i)`, which is only sound when every `pk_i` has a verified proof of
 * possession (otherwise `pk_r = x·g1 − pk_victim` forges). Batch verification of independent sets
 * checks `Π e(r_i·pk_i, H(m_i)) == e(g1, Σ r_i·σ_i)` for random 64-bit `r_i`.
 */

export const PUBLIC_KEY_BYTES = 48;
export const SIGNATURE_BYTES = 96;
export const SECRET_KEY_BYTES = 32;
export const DST_SIGNATURE = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
export const DST_POP = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/**
 * A public key that has been decoded and checked (on the curve, in the G1 subgroup, not infinity).
 * Obtain one from {@link BlsBackend.publicKeyFromBytes}; handles are tied to the backend that made them.
 */
export interface BlsPublicKey {
  readonly bytes: Uint8Array;
  /** Lower-case hex of `bytes` without `0x`, used for duplicate detection and caching. */
  readonly hex: string;
  readonly backend: BlsBackendName;
}

export interface SignatureSet {
  publicKey: BlsPublicKey;
  message: Uint8Array;
  signature: Uint8Array;
}

export type BlsBackendName = "blst" | "noble";

/**
 * What a backend provides. Methods taking signature bytes throw {@link BlsError} for encodings that are
 * malformed, at infinity or outside the subgroup, and return `false` for a well-formed signature that does
 * not verify. Backends do no policy checks (empty or duplicate signer sets): {@link Bls} does those.
 */
export interface BlsBackend {
  readonly name: BlsBackendName;
  /** Decodes and validates a 48-byte compressed key. Throws `INVALID_PUBLIC_KEY` or `PUBLIC_KEY_INFINITY`. */
  publicKeyFromBytes(bytes: Uint8Array): BlsPublicKey;
  /** Throws `INVALID_SIGNATURE` or `SIGNATURE_INFINITY` unless `sig` is a valid compressed G2 point. */
  validateSignature(sig: Uint8Array): void;
  publicKeyOf(secretKey: Uint8Array): Uint8Array;
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: BlsPublicKey, message: Uint8Array, signature: Uint8Array): boolean;
  fastAggregateVerify(publicKeys: readonly BlsPublicKey[], message: Uint8Array, signature: Uint8Array): boolean;
  /** One aggregate signature over distinct messages, one per key: `Π e(pk_i, H(m_i)) == e(g1, σ)`. */
  aggregateVerify(publicKeys: readonly BlsPublicKey[], messages: readonly Uint8Array[], signature: Uint8Array): boolean;
  /** One randomised check over all sets; `false` if any set is invalid. */
  verifySignatureSets(sets: readonly SignatureSet[]): boolean;
  aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array;
  aggregatePublicKeys(publicKeys: readonly BlsPublicKey[]): Uint8Array;
  provePossession(secretKey: Uint8Array): Uint8Array;
  verifyPossession(publicKey: BlsPublicKey, proof: Uint8Array): boolean;
  /** One randomised check over many proofs of possession; `false` if any is invalid. */
  verifyPossessions(items: readonly { publicKey: BlsPublicKey; proof: Uint8Array }[]): boolean;
}
