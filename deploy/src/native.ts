/**
 * The shapes `ShanduNativeInbox` (deploy/contracts/fisco, the destination contract for FISCO BCOS chains)
 * takes, built from `@shandu/proofs` values: its constructor arguments, committee inputs with native keys,
 * native attestations, and the arguments of `deliver` and `rotate`.
 *
 * Trust: these functions only change representation. The contract checks that every uncompressed key is
 * a point of its curve and the key committed in the committee encoding, and verifies everything else it is
 * given.
 *
 * Calling the contract on FISCO BCOS: the artifact is built with the standard compiler, so its function
 * selectors, event topics and the `ShanduRejected(bytes32)` error selector are keccak-256 based on every
 * chain, SM chains included (FISCO's SM toolchain would hash them with SM3). Build calldata and read logs
 * with the ABI in `deploy/artifacts/contracts.json`, not with an SM-mode SDK's own selector hashing.
 */
import {
  type BatchHeader,
  CodecError,
  type Committee,
  concatBytes,
  encodeCommittee,
  type Message,
  type MultiProof,
  memberNativeKey,
  NATIVE_SIGNATURE_BYTES,
  type NativeAttestation,
  NativeKeyScheme,
  type NativeKeySchemeName,
  type RotationRecord,
  toHex,
} from "@shandu/proofs";
import { deliveryParts, type EvmBatchHeader } from "./evm.ts";

/**
 * Address of FISCO BCOS's `CryptoPrecompiled` (`sm2Verify`, `sm3`, `keccak256Hash`): 3.x
 * `bcos-framework/bcos-framework/executor/PrecompiledTypeDef.h` `CRYPTO_ADDRESS`, 2.x
 * `libprecompiled/Common.h` `CRYPTO_ADDRESS`.
 */
export const FISCO_CRYPTO_PRECOMPILE = {
  v3: "0x000000000000000000000000000000000000100a",
  v2: "0x0000000000000000000000000000000000005006",
} as const;

/**
 * Selector of `sm2Verify(bytes32,bytes,bytes32,bytes32)` as the precompile answers it: FISCO hashes
 * precompile selectors with the chain's hash (SM3 on an SM chain). The inbox finds which at deployment.
 */
export const SM2_VERIFY_SELECTOR = { sm: "0x22ede61e", ecdsa: "0xcbdb3a67" } as const;

/** `block.timestamp` units per second on FISCO BCOS (milliseconds), unless `feature_evm_timestamp` is on. */
export const FISCO_TIMESTAMP_UNITS_PER_SECOND = 1000;

/** `NativeCommitteeInput` of the contract: the canonical encoding plus the scheme's keys, uncompressed. */
export interface NativeCommitteeInput {
  encoding: string;
  keys: string;
}

/**
 * The committee with, for each member that lists a key of `scheme` (its first of that scheme), the key as
 * 64 bytes `x ‖ y`, in member order. Throws `CommitteeError` `INVALID_NATIVE_KEY` for a key that is not a
 * curve point, and the encoder's errors for a committee that does not encode.
 */
export function nativeCommitteeInput(committee: Committee, scheme: NativeKeySchemeName): NativeCommitteeInput {
  const keys: Uint8Array[] = [];
  for (const m of committee.members) {
    const key = memberNativeKey(m, scheme);
    if (key) keys.push(key);
  }
  return { encoding: toHex(encodeCommittee(committee)), keys: toHex(concatBytes(...keys)) };
}

/** `NativeAttestation` of the contract: the signatures concatenated in member order. */
export interface NativeAttestationArgs {
  epoch: bigint;
  committeeSetHash: string;
  signers: string;
  signatures: string;
}

/**
 * The contract form of a native attestation. Throws `CodecError` `BAD_LENGTH` for a hash that is not 32
 * bytes or a signature of the wrong size for the scheme (65 bytes secp256k1, 64 SM2).
 */
export function nativeAttestationArgs(a: NativeAttestation): NativeAttestationArgs {
  const size = NATIVE_SIGNATURE_BYTES[a.scheme];
  if (a.committeeSetHash.length !== 32 || a.signatures.some((s) => s.length !== size)) {
    throw new CodecError("BAD_LENGTH", `a native attestation has a 32-byte hash and ${size}-byte ${a.scheme} signatures`);
  }
  return {
    epoch: a.epoch,
    committeeSetHash: toHex(a.committeeSetHash),
    signers: toHex(a.signers),
    signatures: toHex(concatBytes(...a.signatures)),
  };
}

/** A governance source of the constructor: a source chain and the one sender whose governance it obeys. */
export interface GovernanceSourceArg {
  chainId: bigint;
  sender: Uint8Array | string;
}

export interface NativeInboxDeployment {
  /** This chain's id in the alliance. */
  chainId: bigint;
  scheme: NativeKeySchemeName;
  /** The genesis committee, trusted from deployment. */
  committee: Committee;
  /** FISCO's crypto precompile for SM2 (default {@link FISCO_CRYPTO_PRECOMPILE}.v3); ignored for secp256k1. */
  sm2Precompile?: string;
  /** Default {@link FISCO_TIMESTAMP_UNITS_PER_SECOND}; 1 on a chain whose block time is in seconds (anvil). */
  timestampUnitsPerSecond?: number;
  governance?: readonly GovernanceSourceArg[];
}

/**
 * Constructor arguments of `ShanduNativeInbox`, in order: `(uint64 chainId, uint8 scheme, address
 * sm2Precompile, uint32 timestampUnitsPerSecond, (bytes encoding, bytes keys) genesis, (uint64 chainId,
 * bytes sender)[] governance)`.
 */
export function nativeInboxDeployArgs(
  d: NativeInboxDeployment,
): [bigint, number, string, number, NativeCommitteeInput, GovernanceSourceArg[]] {
  const sm2 = d.scheme === "sm2" ? (d.sm2Precompile ?? FISCO_CRYPTO_PRECOMPILE.v3) : "0x0000000000000000000000000000000000000000";
  return [
    d.chainId,
    NativeKeyScheme[d.scheme],
    sm2,
    d.timestampUnitsPerSecond ?? FISCO_TIMESTAMP_UNITS_PER_SECOND,
    nativeCommitteeInput(d.committee, d.scheme),
    (d.governance ?? []).map((g) => ({ chainId: g.chainId, sender: typeof g.sender === "string" ? g.sender : toHex(g.sender) })),
  ];
}

/** Arguments of `ShanduNativeInbox.deliver`; see `deliveryParts` (evm.ts) for the checks. */
export function nativeDeliverArgs(d: {
  header: BatchHeader;
  attestation: NativeAttestation;
  messages: readonly Message[];
  proof: MultiProof;
}): [EvmBatchHeader, NativeAttestationArgs, string[], string[]] {
  const parts = deliveryParts(d);
  return [parts.header, nativeAttestationArgs(d.attestation), parts.messages, parts.siblings];
}

/** A rotation record (§7.2) whose attestation is a native co-signature by the outgoing committee. */
export type NativeRotationRecord = Omit<RotationRecord, "attestation"> & { attestation: NativeAttestation };

/** Arguments of `ShanduNativeInbox.rotate`, with the incoming committee's keys of `scheme`. */
export function nativeRotateArgs(
  r: NativeRotationRecord,
  scheme: NativeKeySchemeName,
): [bigint, string, NativeCommitteeInput, bigint, number, NativeAttestationArgs] {
  return [
    r.fromEpoch,
    toHex(r.fromCommitteeSetHash),
    nativeCommitteeInput(r.to, scheme),
    r.activatesAtSeconds,
    r.graceSeconds,
    nativeAttestationArgs(r.attestation),
  ];
}
