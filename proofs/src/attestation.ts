/**
 * Attestations: `{epoch, committeeSetHash, signer bitfield, aggregate signature}` over a signing root
 * (docs/protocol.md §6).
 *
 * Batch signing root:
 * `SHA-256("SHANDU-ATTEST-v1" ‖ committeeSetHash ‖ epoch u64 ‖ sourceChainId u64 ‖ destinationChainId u64
 *  ‖ root ‖ firstNonce u64 ‖ lastNonce u64)` — bound to the committee, the lane and the nonce range, so
 * nothing signed for one chain, lane or committee verifies for another.
 *
 * Bitfield: `ceil(n/8)` bytes for an n-member committee; member i is bit `i mod 8` (least significant
 * first) of byte `floor(i/8)`; bits at positions ≥ n must be zero.
 */
import type { Bls } from "./bls/bls.ts";
import { SIGNATURE_BYTES } from "./bls/interface.ts";
import { ByteReader, ByteWriter, bytesEqual, U64_MAX } from "./bytes.ts";
import { checkQuorum, MAX_COMMITTEE_MEMBERS, type VerifiedCommittee } from "./committee.ts";
import { AttestationError, BlsError, CodecError } from "./errors.ts";
import { DOMAIN, sha256Concat } from "./hash.ts";
import { MAX_TREE_LEAVES } from "./merkle.ts";
import type { ChainId } from "./message.ts";

export interface Attestation {
  epoch: bigint;
  committeeSetHash: Uint8Array;
  /** Signer bitfield, see module docs. */
  signers: Uint8Array;
  /** 96-byte aggregate G2 signature. */
  signature: Uint8Array;
}

/** What a batch attestation is about: one lane, a contiguous nonce range and the tree root over it. */
export interface BatchHeader {
  sourceChainId: ChainId;
  destinationChainId: ChainId;
  firstNonce: bigint;
  lastNonce: bigint;
  /** Root of the batch tree over the message ids with nonces firstNonce..lastNonce. */
  root: Uint8Array;
}

/** Number of messages in the batch. Throws `NONCE_RANGE_INVALID` for an empty, reversed or oversize range. */
export function batchSize(h: BatchHeader): number {
  for (const [f, v] of [
    ["sourceChainId", h.sourceChainId],
    ["destinationChainId", h.destinationChainId],
    ["firstNonce", h.firstNonce],
    ["lastNonce", h.lastNonce],
  ] as const) {
    if (typeof v !== "bigint" || v < 0n || v > U64_MAX) {
      throw new AttestationError("NONCE_RANGE_INVALID", `batch ${f} must be a u64`, { facts: { field: f } });
    }
  }
  if (h.lastNonce < h.firstNonce || h.lastNonce - h.firstNonce >= BigInt(MAX_TREE_LEAVES)) {
    throw new AttestationError("NONCE_RANGE_INVALID", "batch nonce range is empty, reversed or too large", {
      facts: { firstNonce: h.firstNonce, lastNonce: h.lastNonce, maxMessages: MAX_TREE_LEAVES },
    });
  }
  return Number(h.lastNonce - h.firstNonce) + 1;
}

/** The 32 bytes committee members sign for a batch. */
export function batchSigningRoot(committeeSetHash: Uint8Array, epoch: bigint, h: BatchHeader): Uint8Array {
  batchSize(h);
  checkEpoch(epoch);
  if (committeeSetHash.length !== 32 || h.root.length !== 32) {
    throw new CodecError("BAD_LENGTH", "committeeSetHash and root are 32 bytes");
  }
  const body = new ByteWriter(128)
    .bytes(committeeSetHash)
    .u64(epoch)
    .u64(h.sourceChainId)
    .u64(h.destinationChainId)
    .bytes(h.root)
    .u64(h.firstNonce)
    .u64(h.lastNonce)
    .finish();
  return sha256Concat(DOMAIN.attest, body);
}

export function bitfieldLength(members: number): number {
  return (members + 7) >> 3;
}

export function makeBitfield(members: number, signerIndices: Iterable<number>): Uint8Array {
  const out = new Uint8Array(bitfieldLength(members));
  for (const i of signerIndices) {
    if (!Number.isInteger(i) || i < 0 || i >= members)
      throw new AttestationError("BITFIELD_LENGTH", "signer index outside the committee", { facts: { index: i, members } });
    out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

/** Reads signer indices from a bitfield, rejecting a wrong length or set bits past the last member. */
export function readBitfield(bitfield: Uint8Array, members: number): number[] {
  if (bitfield.length !== bitfieldLength(members)) {
    throw new AttestationError("BITFIELD_LENGTH", "signer bitfield length does not match the committee", {
      facts: { length: bitfield.length, expected: bitfieldLength(members) },
    });
  }
  const out: number[] = [];
  for (let i = 0; i < bitfield.length * 8; i++) {
    if ((bitfield[i >> 3]! >> (i & 7)) & 1) {
      if (i >= members)
        throw new AttestationError("BITFIELD_TRAILING_BITS", "signer bitfield sets a bit past the last member", {
          facts: { bit: i, members },
        });
      out.push(i);
    }
  }
  return out;
}

export interface VerifiedAttestation {
  signerIndices: number[];
  signerIds: string[];
  signedWeight: number;
}

/**
 * Verifies an attestation against a verified committee and the signing root the verifier computed
 * itself (never one supplied with the attestation). Checks, in order: epoch, committee hash, bitfield,
 * non-empty signer set, quorum policy, signature encoding, aggregate signature. Throws
 * {@link AttestationError} naming the first rule that failed.
 */
export function verifyAttestation(att: Attestation, vc: VerifiedCommittee, signingRoot: Uint8Array, bls: Bls): VerifiedAttestation {
  if (att.epoch !== vc.epoch) {
    throw new AttestationError("EPOCH_MISMATCH", "attestation epoch differs from the committee's", {
      facts: { attestation: att.epoch, committee: vc.epoch },
    });
  }
  if (!bytesEqual(att.committeeSetHash, vc.hash)) {
    throw new AttestationError("COMMITTEE_HASH_MISMATCH", "attestation names a different committee set");
  }
  const n = vc.committee.members.length;
  const signerIndices = readBitfield(att.signers, n);
  const q = checkQuorum(vc, signerIndices);
  let ok: boolean;
  try {
    ok = bls.fastAggregateVerify(
      signerIndices.map((i) => vc.keys[i]!),
      signingRoot,
      att.signature,
    );
  } catch (cause) {
    if (!(cause instanceof BlsError)) throw cause;
    throw new AttestationError("INVALID_SIGNATURE_ENCODING", `aggregate signature rejected: ${cause.shortMessage}`, {
      facts: { reason: cause.code },
      cause,
    });
  }
  if (!ok) throw new AttestationError("BAD_SIGNATURE", "aggregate signature does not verify for the signers and signing root");
  return {
    signerIndices,
    signerIds: signerIndices.map((i) => vc.committee.members[i]!.id),
    signedWeight: q.signedWeight,
  };
}

export interface PartialSignature {
  /** Index of the member in the committee. */
  memberIndex: number;
  signature: Uint8Array;
}

/**
 * Verifies each member's partial signature over `signingRoot` (one batched check, one-by-one on failure)
 * and aggregates them into an attestation once the policy is met. Throws {@link AttestationError}:
 * `PARTIAL_FROM_UNKNOWN_MEMBER`, `DUPLICATE_PARTIAL`, `BAD_SIGNATURE` (naming the members), or the
 * quorum codes.
 */
export function aggregatePartials(
  vc: VerifiedCommittee,
  signingRoot: Uint8Array,
  partials: readonly PartialSignature[],
  bls: Bls,
): Attestation {
  const seen = new Set<number>();
  for (const p of partials) {
    if (!Number.isInteger(p.memberIndex) || p.memberIndex < 0 || p.memberIndex >= vc.keys.length) {
      throw new AttestationError("PARTIAL_FROM_UNKNOWN_MEMBER", "partial signature from an index outside the committee", {
        facts: { memberIndex: p.memberIndex },
      });
    }
    if (seen.has(p.memberIndex))
      throw new AttestationError("DUPLICATE_PARTIAL", "two partials from one member", { facts: { memberIndex: p.memberIndex } });
    seen.add(p.memberIndex);
  }
  const sorted = [...partials].sort((a, b) => a.memberIndex - b.memberIndex);
  checkQuorum(
    vc,
    sorted.map((p) => p.memberIndex),
  );
  const result = bls.verifySignatureSets(
    sorted.map((p) => ({ publicKey: vc.keys[p.memberIndex]!, message: signingRoot, signature: p.signature })),
  );
  if (!result.ok) {
    throw new AttestationError("BAD_SIGNATURE", "some partial signatures do not verify", {
      facts: { members: result.invalid.map((i) => vc.committee.members[sorted[i]!.memberIndex]!.id).join(",") },
    });
  }
  return {
    epoch: vc.epoch,
    committeeSetHash: vc.hash,
    signers: makeBitfield(
      vc.keys.length,
      sorted.map((p) => p.memberIndex),
    ),
    signature: bls.aggregateSignatures(sorted.map((p) => p.signature)),
  };
}

/** Binary form: `epoch u64 ‖ committeeSetHash 32 ‖ bitfield (u16 len) ‖ signature 96`. */
export function encodeAttestation(a: Attestation): Uint8Array {
  checkEpoch(a.epoch);
  if (
    a.committeeSetHash.length !== 32 ||
    a.signature.length !== SIGNATURE_BYTES ||
    a.signers.length > bitfieldLength(MAX_COMMITTEE_MEMBERS)
  ) {
    throw new CodecError("BAD_LENGTH", "attestation hash is 32 bytes, signature 96, bitfield at most 128");
  }
  return new ByteWriter(140 + a.signers.length).u64(a.epoch).bytes(a.committeeSetHash).bytes16(a.signers).bytes(a.signature).finish();
}

/** Throws {@link CodecError} `VALUE_OUT_OF_RANGE` unless `epoch` is a u64. */
export function checkEpoch(epoch: bigint): void {
  if (typeof epoch !== "bigint" || epoch < 0n || epoch > U64_MAX) {
    throw new CodecError("VALUE_OUT_OF_RANGE", "epoch must be a u64", { facts: { epoch: String(epoch) } });
  }
}

export function readAttestation(r: ByteReader): Attestation {
  return {
    epoch: r.u64("attestation epoch"),
    committeeSetHash: r.bytes(32, "committeeSetHash"),
    signers: r.bytes16(bitfieldLength(MAX_COMMITTEE_MEMBERS), "signer bitfield"),
    signature: r.bytes(SIGNATURE_BYTES, "signature"),
  };
}

export function decodeAttestation(bytes: Uint8Array): Attestation {
  const r = new ByteReader(bytes, "attestation");
  const a = readAttestation(r);
  r.end();
  return a;
}
