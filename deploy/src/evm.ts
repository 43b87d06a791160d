/**
 * The shapes the Shandu EVM contracts take, built from `@shandu/proofs` values: EIP-2537 point encodings,
 * committee inputs, attestations, delivery arguments, governance payloads, and the decoding of the
 * contracts' `ShanduRejected(bytes32)` reverts back into protocol error codes.
 *
 * Trust: these functions only change representation. Nothing here is trusted by a contract: the
 * registry checks that every uncompressed point is the decompression of the compressed value it stands
 * for, and the inbox verifies everything it is given.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import {
  type Attestation,
  type BatchHeader,
  CodecError,
  type Committee,
  concatBytes,
  encodeCommittee,
  encodeMessage,
  type Message,
  type MultiProof,
  toHex,
} from "@shandu/proofs";

/** Bytes of one EIP-2537 field element: 16 zero bytes, then the 48-byte big-endian value. */
const FP_BYTES = 64;

function fp(v: bigint): Uint8Array {
  const out = new Uint8Array(FP_BYTES);
  let x = v;
  for (let i = FP_BYTES - 1; i >= 16; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/**
 * The EIP-2537 encoding (128 bytes: x ‖ y, each 64 bytes) of a compressed 48-byte G1 point. Throws
 * `CodecError` (`BAD_LENGTH`) when the bytes are not a point; the subgroup is left to the contract.
 */
export function g1ToEip2537(compressed: Uint8Array): Uint8Array {
  let p: ReturnType<typeof bls12_381.G1.Point.fromBytes>;
  try {
    p = bls12_381.G1.Point.fromBytes(compressed);
  } catch (cause) {
    throw new CodecError("BAD_LENGTH", "not a compressed G1 point", { cause });
  }
  if (p.is0()) return new Uint8Array(128);
  const a = p.toAffine();
  return concatBytes(fp(a.x), fp(a.y));
}

/** The EIP-2537 encoding (256 bytes: x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1) of a compressed 96-byte G2 point. */
export function g2ToEip2537(compressed: Uint8Array): Uint8Array {
  let p: ReturnType<typeof bls12_381.G2.Point.fromBytes>;
  try {
    p = bls12_381.G2.Point.fromBytes(compressed);
  } catch (cause) {
    throw new CodecError("BAD_LENGTH", "not a compressed G2 point", { cause });
  }
  if (p.is0()) return new Uint8Array(256);
  const a = p.toAffine();
  return concatBytes(fp(a.x.c0), fp(a.x.c1), fp(a.y.c0), fp(a.y.c1));
}

/** `CommitteeInput` of the contracts: the canonical encoding plus every member's key and PoP, uncompressed. */
export interface CommitteeInput {
  encoding: string;
  keys: string;
  pops: string;
}

export function committeeInput(c: Committee): CommitteeInput {
  return {
    encoding: toHex(encodeCommittee(c)),
    keys: toHex(concatBytes(...c.members.map((m) => g1ToEip2537(m.blsPublicKey)))),
    pops: toHex(concatBytes(...c.members.map((m) => g2ToEip2537(m.proofOfPossession)))),
  };
}

/** `EvmAttestation` of the contracts: the signature in its 256-byte EIP-2537 form. */
export interface EvmAttestation {
  epoch: bigint;
  committeeSetHash: string;
  signers: string;
  signature: string;
}

export function evmAttestation(a: Attestation): EvmAttestation {
  return {
    epoch: a.epoch,
    committeeSetHash: toHex(a.committeeSetHash),
    signers: toHex(a.signers),
    signature: toHex(g2ToEip2537(a.signature)),
  };
}

export interface EvmBatchHeader {
  sourceChainId: bigint;
  destinationChainId: bigint;
  firstNonce: bigint;
  lastNonce: bigint;
  root: string;
}

export function evmBatchHeader(h: BatchHeader): EvmBatchHeader {
  return {
    sourceChainId: h.sourceChainId,
    destinationChainId: h.destinationChainId,
    firstNonce: h.firstNonce,
    lastNonce: h.lastNonce,
    root: toHex(h.root),
  };
}

/** The arguments every inbox's `deliver` takes besides the attestation. */
export interface DeliveryParts {
  header: EvmBatchHeader;
  messages: string[];
  siblings: string[];
}

/**
 * The header, messages and multiproof siblings of a delivery. The contract derives each leaf index from
 * the message's nonce, so the proof's indices must be exactly `nonce − firstNonce` of the messages, in
 * order; anything else is refused here (`CodecError` `BAD_LENGTH`) rather than spent as a reverted
 * transaction.
 */
export function deliveryParts(d: { header: BatchHeader; messages: readonly Message[]; proof: MultiProof }): DeliveryParts {
  const expected = d.messages.map((m) => Number(m.nonce - d.header.firstNonce));
  if (expected.length !== d.proof.indices.length || expected.some((v, i) => v !== d.proof.indices[i])) {
    throw new CodecError("BAD_LENGTH", "the multiproof's indices are not the messages' nonce offsets", {
      facts: { expected: expected.join(","), got: d.proof.indices.join(",") },
    });
  }
  return {
    header: evmBatchHeader(d.header),
    messages: d.messages.map((m) => toHex(encodeMessage(m))),
    siblings: d.proof.siblings.map((s) => toHex(s)),
  };
}

/** Arguments of `ShanduInbox.deliver`; see {@link deliveryParts} for the checks. */
export function deliverArgs(d: {
  header: BatchHeader;
  attestation: Attestation;
  messages: readonly Message[];
  proof: MultiProof;
}): [EvmBatchHeader, EvmAttestation, string[], string[]] {
  const parts = deliveryParts(d);
  return [parts.header, evmAttestation(d.attestation), parts.messages, parts.siblings];
}

/** Governance payload operations understood by `ShanduInbox` (op u8 ‖ lane source chain id u64). */
export const GOVERNANCE_OP = { pauseLane: 1, resumeLane: 2 } as const;

export function governancePayload(op: keyof typeof GOVERNANCE_OP, laneSourceChainId: bigint): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = GOVERNANCE_OP[op];
  new DataView(out.buffer).setBigUint64(1, laneSourceChainId);
  return out;
}

/** Selector of `ShanduRejected(bytes32)`. */
export const REJECTED_SELECTOR = "0x45a6d465";
/** Selector of `ShanduRotationNotAttested(bytes32)`: a rotation whose attestation failed, with that code. */
export const ROTATION_NOT_ATTESTED_SELECTOR = "0x126ccf13";

/**
 * The refusal inside an inbox's revert data (`0x` hex): `{ code }` for `ShanduRejected(code)`, `{ code,
 * rotation: true }` for `ShanduRotationNotAttested(code)`, or null for anything else. Both inboxes, and
 * every chain (the selectors are the artifact's, keccak-256 based).
 */
export function decodeRejection(data: string): { code: string; rotation: boolean } | null {
  const hex = data.toLowerCase();
  if (hex.length !== 2 + 8 + 64) return null;
  const selector = hex.slice(0, 10);
  if (selector !== REJECTED_SELECTOR && selector !== ROTATION_NOT_ATTESTED_SELECTOR) return null;
  return { code: codeFromBytes32(hex.slice(10)), rotation: selector === ROTATION_NOT_ATTESTED_SELECTOR };
}

/** The ASCII code inside a left-aligned, zero-padded bytes32. */
export function codeFromBytes32(hex: string): string {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  let out = "";
  for (let i = 0; i + 2 <= h.length; i += 2) {
    const c = Number.parseInt(h.slice(i, i + 2), 16);
    if (c === 0) break;
    out += String.fromCharCode(c);
  }
  return out;
}
