/**
 * Typed errors for the protocol core.
 *
 * Every error carries a stable `code` (what went wrong, for programs), `facts` (the values that made it
 * go wrong, for people and logs) and a `disposition`: whether the input should be rejected outright or
 * whether retrying later could succeed. Nothing in `proofs/` throws a bare `Error` for bad input.
 */

/** What a caller should do with the input that caused the error. */
export type Disposition = "reject" | "retry";

export type ErrorFacts = Readonly<Record<string, string | number | bigint | boolean | null | undefined>>;

export class ShanduError<C extends string = string> extends Error {
  override readonly name: string = "ShanduError";
  readonly code: C;
  readonly facts: ErrorFacts;
  readonly disposition: Disposition;
  /** The message without the facts appended. */
  readonly shortMessage: string;

  constructor(code: C, shortMessage: string, options: { facts?: ErrorFacts; cause?: unknown; disposition?: Disposition } = {}) {
    const facts = options.facts ?? {};
    const detail = Object.entries(facts)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
    super(detail ? `${shortMessage} (${detail})` : shortMessage, { cause: options.cause });
    this.code = code;
    this.facts = facts;
    this.shortMessage = shortMessage;
    this.disposition = options.disposition ?? "reject";
  }

  /** Walks the `cause` chain and returns the deepest error (or the first matching `predicate`). */
  walk(predicate?: (e: unknown) => boolean): unknown {
    let current: unknown = this;
    for (;;) {
      if (predicate?.(current)) return current;
      const next = current instanceof Error ? current.cause : undefined;
      if (next === undefined) return predicate ? undefined : current;
      current = next;
    }
  }
}

export type CodecErrorCode =
  | "TRUNCATED"
  | "TRAILING_BYTES"
  | "UNKNOWN_VERSION"
  | "UNKNOWN_KIND"
  | "FIELD_TOO_LONG"
  | "VALUE_OUT_OF_RANGE"
  | "BAD_HEX"
  | "BAD_LENGTH";

/** Malformed bytes or out-of-range fields in any canonical encoding. */
export class CodecError extends ShanduError<CodecErrorCode> {
  override readonly name = "CodecError";
}

export type MerkleErrorCode =
  | "EMPTY_TREE"
  | "TREE_TOO_LARGE"
  | "INDEX_OUT_OF_RANGE"
  | "INDICES_NOT_SORTED"
  | "PROOF_TOO_SHORT"
  | "PROOF_TOO_LONG"
  | "ROOT_MISMATCH"
  | "BAD_HASH_LENGTH"
  | "LEAF_COUNT_MISMATCH";

export class MerkleError extends ShanduError<MerkleErrorCode> {
  override readonly name = "MerkleError";
}

export type BlsErrorCode =
  | "INVALID_SECRET_KEY"
  | "INVALID_PUBLIC_KEY"
  | "PUBLIC_KEY_INFINITY"
  | "INVALID_SIGNATURE"
  | "SIGNATURE_INFINITY"
  | "EMPTY_SIGNER_SET"
  | "DUPLICATE_SIGNER"
  | "BACKEND_UNAVAILABLE";

/** Bad key or signature material. `INVALID_*` covers encodings off the curve or outside the subgroup. */
export class BlsError extends ShanduError<BlsErrorCode> {
  override readonly name = "BlsError";
}

export type CommitteeErrorCode =
  | "EMPTY_COMMITTEE"
  | "TOO_MANY_MEMBERS"
  | "DUPLICATE_MEMBER_ID"
  | "DUPLICATE_PUBLIC_KEY"
  | "INVALID_MEMBER_KEY"
  | "INVALID_PROOF_OF_POSSESSION"
  | "INVALID_NATIVE_KEY"
  | "INVALID_WEIGHT"
  | "INVALID_THRESHOLD"
  | "UNKNOWN_GROUP"
  | "POLICY_UNSATISFIABLE"
  | "ROTATION_EPOCH_GAP"
  | "ROTATION_PARENT_MISMATCH"
  | "ROTATION_NOT_ATTESTED"
  | "ROTATION_TIME_NOT_MONOTONIC"
  | "ROTATION_CONFLICT"
  | "EPOCH_NOT_IN_CHAIN"
  | "EPOCH_NOT_YET_ACTIVE"
  | "EPOCH_EXPIRED";

export class CommitteeError extends ShanduError<CommitteeErrorCode> {
  override readonly name = "CommitteeError";
}

export type AttestationErrorCode =
  | "EPOCH_MISMATCH"
  | "COMMITTEE_HASH_MISMATCH"
  | "BITFIELD_LENGTH"
  | "BITFIELD_TRAILING_BITS"
  | "EMPTY_SIGNER_SET"
  | "QUORUM_WEIGHT_NOT_MET"
  | "QUORUM_GROUP_NOT_MET"
  | "INVALID_SIGNATURE_ENCODING"
  | "BAD_SIGNATURE"
  | "NONCE_RANGE_INVALID"
  | "PARTIAL_FROM_UNKNOWN_MEMBER"
  | "DUPLICATE_PARTIAL"
  | "NATIVE_KEY_MISSING"
  | "NATIVE_SIGNATURE_INVALID"
  | "NATIVE_SIGNATURES_LENGTH";

export class AttestationError extends ShanduError<AttestationErrorCode> {
  override readonly name = "AttestationError";
}

export type BundleErrorCode =
  | "NOT_A_BUNDLE"
  | "UNSUPPORTED_BUNDLE_VERSION"
  | "SCHEMA"
  | "GENESIS_MISMATCH"
  | "MESSAGE_ID_MISMATCH"
  | "LANE_MISMATCH"
  | "NONCE_OUT_OF_RANGE"
  | "INCLUSION_FAILED"
  | "ENVELOPE_NOT_BOUND";

export class BundleError extends ShanduError<BundleErrorCode> {
  override readonly name = "BundleError";
}

export type EvidenceErrorCode =
  | "EVIDENCE_MALFORMED"
  | "RLP_INVALID"
  | "HEADER_HASH_MISMATCH"
  | "HEADER_INVALID"
  | "BLOCK_NUMBER_MISMATCH"
  | "TRIE_PROOF_INVALID"
  | "TRIE_VALUE_MISMATCH"
  | "TX_HASH_MISMATCH"
  | "CHAIN_ID_MISMATCH"
  | "RECEIPT_INVALID"
  | "RECEIPT_FAILED"
  | "LOG_NOT_FOUND"
  | "LOG_MISMATCH"
  | "MESSAGE_MISMATCH"
  | "OUTBOX_MISMATCH"
  | "INBOX_MISMATCH"
  | "BATCH_MISMATCH"
  | "NOT_DELIVERED_HERE"
  | "DELIVERY_FAILED"
  | "SEALER_LIST_MISMATCH"
  | "SEALER_SIGNATURE_INVALID"
  | "SEALER_QUORUM_NOT_MET"
  /** (`"fabric-endorsement"`) The evidence names another channel than the pinned one. */
  | "FABRIC_CHANNEL_MISMATCH"
  /** (`"fabric-endorsement"`) The evidence or the endorsed action names another chaincode than the pinned or stated one. */
  | "FABRIC_CHAINCODE_MISMATCH"
  /** (`"fabric-endorsement"`) The endorsed bytes are not a ProposalResponsePayload holding a ChaincodeAction (facts: what, reason). */
  | "FABRIC_PAYLOAD_INVALID"
  /** (`"fabric-endorsement"`) No chaincode event, or one of another chaincode, transaction or name than the outbox's `MessageSent`. */
  | "FABRIC_EVENT_MISMATCH"
  /** (`"fabric-endorsement"`) The chaincode's response status is not 200. */
  | "FABRIC_RESPONSE_FAILED"
  /** (`"fabric-endorsement"`) An endorsement's identity or certificate does not read, or its signature is not a valid low-S P-256 signature over payload ‖ endorser. */
  | "FABRIC_ENDORSEMENT_INVALID"
  /** (`"fabric-endorsement"`) An endorser's MSP has no pinned CA, or its certificate was not issued by one of that MSP's pinned CAs. */
  | "FABRIC_UNKNOWN_CA"
  /** (`"fabric-endorsement"`) The MSPs of the valid endorsements do not satisfy the pinned endorsement policy. */
  | "FABRIC_POLICY_NOT_SATISFIED"
  /** (`"fabric-endorsement"`) The reported validation code is not VALID (0). */
  | "FABRIC_TX_INVALID";

/**
 * Chain evidence (docs/protocol.md §8.4) that does not prove what it claims: malformed members, bytes
 * that are not canonical, proofs that do not lead to the stated root, a proven event that is not the
 * message, or a proven delivery that did not execute the message. Always `reject`: evidence is
 * self-contained, so checking it again gives the same answer. Evidence builders use the same codes,
 * with `facts.source = "node"`, when a node's answers do not hash to its own header.
 */
export class EvidenceError extends ShanduError<EvidenceErrorCode> {
  override readonly name = "EvidenceError";
}

export type TranslogErrorCode =
  | "INCLUSION_FAILED"
  | "CONSISTENCY_FAILED"
  | "BAD_TREE_HEAD_SIGNATURE"
  | "UNTRUSTED_LOG_KEY"
  | "INDEX_OUT_OF_RANGE"
  | "BAD_HASH_LENGTH";

/** A transparency-log proof or tree head that does not check out. Always `reject`. */
export class TranslogError extends ShanduError<TranslogErrorCode> {
  override readonly name = "TranslogError";
}

/** FISCO BCOS codecs and signatures (TARS, 2.x RLP, ECDSA / SM2): malformed bytes or a check that failed. */
export type FiscoErrorCode =
  /** The bytes end inside a field, a length is impossible, or a field has the wrong type. */
  | "TARS_MALFORMED"
  /** The RLP is not the shape of a FISCO BCOS 2.x transaction. */
  | "RLP_MALFORMED"
  /** A required field is missing. */
  | "FIELD_MISSING"
  /** The signature has a length no supported scheme uses. */
  | "SIGNATURE_MALFORMED"
  /** The signature does not verify (or recovers no key) over the transaction hash. */
  | "BAD_SIGNATURE"
  /** The transaction carries a hash that is not the hash of its fields. */
  | "HASH_MISMATCH"
  /** A FISCO Merkle proof is malformed or does not lead to the root. */
  | "MERKLE_PROOF_INVALID"
  /** A header's sealer list is not the one the verifier trusts. */
  | "SEALER_LIST_MISMATCH"
  /** A sealer signature does not verify, names no sealer, or repeats one. */
  | "SEALER_SIGNATURE_INVALID"
  /** The sealers that signed hold less than the PBFT quorum. */
  | "SEALER_QUORUM_NOT_MET"
  /** A FISCO node answered a JSON-RPC call with an error object, or with a result of the wrong shape. */
  | "RPC_ERROR";

export class FiscoError extends ShanduError<FiscoErrorCode> {
  override readonly name = "FiscoError";
}

export type SettlementErrorCode =
  /** Two confirmed redemptions carry the same redemption id. */
  | "DUPLICATE_REDEMPTION"
  /** A redemption id is not 32 bytes. */
  | "INVALID_REDEMPTION_ID"
  /** A redemption's credits are zero or negative. */
  | "NON_POSITIVE_CREDITS"
  /** A redemption's credit class has no rate at all in the agreement. */
  | "UNKNOWN_CREDIT_CLASS"
  /** The credit class has rates, but none for this sponsor and no class-wide default. */
  | "MISSING_RATE"
  /** A rate whose numerator or denominator is out of range. */
  | "INVALID_RATE"
  /** Two rates for the same (credit class, sponsor). */
  | "DUPLICATE_RATE"
  /** The window names another alliance agreement than the one given. */
  | "AGREEMENT_MISMATCH"
  /** The window's bounds or id are out of range. */
  | "INVALID_WINDOW"
  /** A redemption was confirmed outside the window. */
  | "OUTSIDE_WINDOW"
  /** An institution id, agreement id or currency is empty, too long or not well-formed text. */
  | "INVALID_ID"
  /** A redemption whose sponsor is also the exchange platform. */
  | "SELF_OBLIGATION"
  /** An amount or total does not fit in 128 bits. */
  | "AMOUNT_OVERFLOW"
  /** More lines than a batch tree can hold. */
  | "TOO_MANY_LINES"
  /** A line index outside the batch. */
  | "INDEX_OUT_OF_RANGE"
  /** A line's inclusion proof does not lead to the root. */
  | "LINE_PROOF_INVALID"
  /** A settlement batch differs from the recomputation (facts name the step and the first difference). */
  | "SETTLEMENT_MISMATCH";

/** Settlement input refused, or a settlement batch that is not the netting of its inputs. Always `reject`. */
export class SettlementError extends ShanduError<SettlementErrorCode> {
  override readonly name = "SettlementError";
}
