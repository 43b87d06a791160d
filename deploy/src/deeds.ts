/**
 * Measured good deeds for `GoodDeedRegistry` (docs/deeds.md): the deed record, its hash, the root the
 * measurer committee signs, and the attestation the registry takes. Byte for byte what the contract
 * computes with `abi.encodePacked` and the SHA-256 precompile.
 *
 * Trust: these functions only build values. The registry recomputes the signing root from the deed it is
 * given and verifies the attestation against the committee governance approved.
 */
import { type Bls, CodecError, type Committee, committeeSetHash, concatBytes, makeBitfield, sha256, toHex } from "@shandu/proofs";
import { type EvmAttestation, evmAttestation } from "./evm.ts";

/** Domain tag of the deed signing root: the 14 ASCII bytes `SHANDU-DEED-v1`. */
export const DEED_TAG: Uint8Array = new TextEncoder().encode("SHANDU-DEED-v1");

/** Bytes of the deed hash preimage. */
export const DEED_HASH_PREIMAGE_BYTES = 252;

/**
 * One measured deed, as `GoodDeedRegistry.Deed`. `category`, `unit` and `measuredBy` are left-aligned
 * ASCII in 32 bytes (see `reasonCode`); `envelopeCommitment` is the regulator envelope's commitment
 * (`envelopeCommitment` of `@shandu/proofs`).
 */
export interface Deed {
  /** 32 bytes, unique per registry. */
  deedId: Uint8Array;
  /** The user's pseudonymous on-chain identity: a 20-byte address. */
  user: Uint8Array;
  category: Uint8Array;
  /** In `unit`s; 1 ≤ quantity < 2^256. */
  quantity: bigint;
  unit: Uint8Array;
  measuredBy: Uint8Array;
  /** Unix seconds, u64. */
  measuredAt: bigint;
  /** 32 bytes naming the user's consent record. */
  consentRef: Uint8Array;
  /** 32 bytes. */
  envelopeCommitment: Uint8Array;
}

/** `GoodDeedRegistry.Deed` as the contract's ABI takes it (hex strings, bigints). */
export interface EvmDeed {
  deedId: string;
  user: string;
  category: string;
  quantity: bigint;
  unit: string;
  measuredBy: string;
  measuredAt: bigint;
  consentRef: string;
  envelopeCommitment: string;
}

const U64_MAX = (1n << 64n) - 1n;
const U256_MAX = (1n << 256n) - 1n;

function fixed(b: Uint8Array, n: number, field: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new CodecError("BAD_LENGTH", `${field} must be ${n} bytes`, { facts: { field, length: b?.length } });
  }
  return b;
}

function uintBytes(v: bigint, n: number, max: bigint, field: string): Uint8Array {
  if (typeof v !== "bigint" || v < 0n || v > max) {
    throw new CodecError("VALUE_OUT_OF_RANGE", `${field} out of range`, { facts: { field, value: String(v) } });
  }
  const out = new Uint8Array(n);
  let x = v;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/**
 * SHA-256(deedId ‖ user (20) ‖ category ‖ quantity (32) ‖ unit ‖ measuredBy ‖ measuredAt (u64) ‖ consentRef ‖
 * envelopeCommitment), all big-endian: 252 bytes hashed. Throws `CodecError` (`BAD_LENGTH`,
 * `VALUE_OUT_OF_RANGE`) for a field of the wrong size. A zero quantity hashes, but the registry refuses it.
 */
export function deedHash(d: Deed): Uint8Array {
  return sha256(
    concatBytes(
      fixed(d.deedId, 32, "deedId"),
      fixed(d.user, 20, "user"),
      fixed(d.category, 32, "category"),
      uintBytes(d.quantity, 32, U256_MAX, "quantity"),
      fixed(d.unit, 32, "unit"),
      fixed(d.measuredBy, 32, "measuredBy"),
      uintBytes(d.measuredAt, 8, U64_MAX, "measuredAt"),
      fixed(d.consentRef, 32, "consentRef"),
      fixed(d.envelopeCommitment, 32, "envelopeCommitment"),
    ),
  );
}

/**
 * What the measurer committee signs for `deed` at the registry `registry` (20 bytes) of Shandu chain
 * `chainId`: SHA-256("SHANDU-DEED-v1" ‖ committeeSetHash ‖ epoch (u64) ‖ chainId (u64) ‖ registry (20) ‖
 * deedHash). Binding the committee, the chain and the registry keeps a signature from serving anywhere else.
 */
export function deedSigningRoot(
  committeeSetHash: Uint8Array,
  epoch: bigint,
  chainId: bigint,
  registry: Uint8Array,
  deed: Deed,
): Uint8Array {
  return sha256(
    concatBytes(
      DEED_TAG,
      fixed(committeeSetHash, 32, "committeeSetHash"),
      uintBytes(epoch, 8, U64_MAX, "epoch"),
      uintBytes(chainId, 8, U64_MAX, "chainId"),
      fixed(registry, 20, "registry"),
      deedHash(deed),
    ),
  );
}

/** Where a deed is recorded: the Shandu chain id and the `GoodDeedRegistry` address (20 bytes). */
export interface DeedTarget {
  chainId: bigint;
  registry: Uint8Array;
  deed: Deed;
}

/**
 * The attestation of `target.deed` at `target.registry` of chain `target.chainId` by the members
 * `signerIndices` of the measurer `committee`, whose secret keys are `secretKeys` (by member index): each
 * signs the deed's signing root, the signatures are aggregated, the signer bitfield is set. No quorum
 * check (the registry does it), so a test can build one that must be refused, and `secretKeys` may be
 * other keys than the committee's (a forgery). Throws `AttestationError` (`BITFIELD_LENGTH`) for an index
 * outside the committee, `BlsError` for an invalid key or no signer, `CodecError` like {@link deedHash}.
 */
export function deedAttestation(
  bls: Bls,
  committee: Committee,
  secretKeys: readonly Uint8Array[],
  signerIndices: readonly number[],
  target: DeedTarget,
): EvmAttestation {
  const setHash = committeeSetHash(committee);
  const root = deedSigningRoot(setHash, committee.epoch, target.chainId, target.registry, target.deed);
  const signatures = signerIndices.map((i) => {
    const key = secretKeys[i];
    if (key === undefined) throw new CodecError("VALUE_OUT_OF_RANGE", "no secret key for this signer", { facts: { index: i } });
    return bls.sign(key, root);
  });
  return evmAttestation({
    epoch: committee.epoch,
    committeeSetHash: setHash,
    signers: makeBitfield(committee.members.length, signerIndices),
    signature: bls.aggregateSignatures(signatures),
  });
}

/** The deed as `recordDeed` takes it. Throws `CodecError` like {@link deedHash}. */
export function evmDeed(d: Deed): EvmDeed {
  deedHash(d);
  return {
    deedId: toHex(d.deedId),
    user: toHex(d.user),
    category: toHex(d.category),
    quantity: d.quantity,
    unit: toHex(d.unit),
    measuredBy: toHex(d.measuredBy),
    measuredAt: d.measuredAt,
    consentRef: toHex(d.consentRef),
    envelopeCommitment: toHex(d.envelopeCommitment),
  };
}
