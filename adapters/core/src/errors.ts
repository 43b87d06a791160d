/**
 * The one error type every chain adapter throws. Its code says what went wrong, its facts carry the
 * values behind it, and its disposition — fixed per code in {@link ADAPTER_ERROR_DISPOSITIONS}, so that
 * every adapter answers the same way — tells a relayer or attester whether to retry later (nak with a
 * delay) or give up on the input (term, alert).
 */
import { type Disposition, ShanduError } from "@shandu/proofs";

export type AdapterErrorCode =
  /** The node or gateway could not be reached or answered with a transport error. */
  | "RPC_UNAVAILABLE"
  /** The node did not answer within the configured time. */
  | "RPC_TIMEOUT"
  /** The node reports a different chain than the configuration names. */
  | "WRONG_CHAIN_ID"
  /** No outbox / inbox contract, chaincode or pallet at the configured address. */
  | "CONTRACT_NOT_DEPLOYED"
  /** The configuration does not parse; `facts.path` names the field. */
  | "INVALID_CONFIG"
  /** A persisted cursor does not parse or belongs to a different chain. */
  | "INVALID_CURSOR"
  /** The destination verified the delivery and refused it; `facts.reason` says why. Permanent. */
  | "DELIVERY_REJECTED"
  /** The lane is paused by governance at the destination; deliveries resume when it is resumed. */
  | "LANE_PAUSED"
  /** A lane or nonce asked of an adapter that does not serve it (e.g. a lane ending on another chain). */
  | "WRONG_LANE"
  /** A position this adapter had treated as final has changed: a consensus fault, raise the alarm. */
  | "REORG_BELOW_FINALITY"
  /** Evidence was asked for a message whose position is not final yet. */
  | "NOT_FINALIZED"
  /** The message is not at the source position it names. */
  | "MESSAGE_NOT_FOUND"
  /** The submitting account cannot pay for the transaction. */
  | "INSUFFICIENT_FUNDS"
  /** A transaction was sent but not confirmed in time; its outcome is unknown until status is asked. */
  | "SUBMISSION_TIMEOUT"
  /** The adapter was closed. */
  | "CLOSED"
  /** The caller's AbortSignal fired before the work finished. */
  | "CANCELLED"
  /** This adapter cannot do what was asked on its chain kind (yet); the message says what is missing. */
  | "UNSUPPORTED";

/** What a caller should do after each code. Retry codes are transient; reject codes are not. */
export const ADAPTER_ERROR_DISPOSITIONS: Readonly<Record<AdapterErrorCode, Disposition>> = {
  RPC_UNAVAILABLE: "retry",
  RPC_TIMEOUT: "retry",
  WRONG_CHAIN_ID: "reject",
  CONTRACT_NOT_DEPLOYED: "reject",
  INVALID_CONFIG: "reject",
  INVALID_CURSOR: "reject",
  DELIVERY_REJECTED: "reject",
  LANE_PAUSED: "retry",
  WRONG_LANE: "reject",
  REORG_BELOW_FINALITY: "reject",
  NOT_FINALIZED: "retry",
  MESSAGE_NOT_FOUND: "reject",
  INSUFFICIENT_FUNDS: "retry",
  SUBMISSION_TIMEOUT: "retry",
  CLOSED: "reject",
  CANCELLED: "retry",
  UNSUPPORTED: "reject",
};

/**
 * Why a destination refused a delivery. Codes from `@shandu/proofs` (e.g. `BAD_SIGNATURE`,
 * `QUORUM_GROUP_NOT_MET`, `ROOT_MISMATCH`, `ROTATION_NOT_ATTESTED`, `EPOCH_EXPIRED`) pass through
 * unchanged; the others are checks the inbox makes itself.
 */
export type DeliveryRejectReason =
  | "WRONG_DESTINATION_CHAIN"
  | "GENESIS_MISMATCH"
  | "EMPTY_DELIVERY"
  | "LANE_MISMATCH"
  | "NONCE_OUT_OF_RANGE"
  | "PROOF_INDEX_MISMATCH"
  | (string & {});

export class AdapterError extends ShanduError<AdapterErrorCode> {
  override readonly name = "AdapterError";

  constructor(code: AdapterErrorCode, shortMessage: string, options: { facts?: ShanduError["facts"]; cause?: unknown } = {}) {
    super(code, shortMessage, { ...options, disposition: ADAPTER_ERROR_DISPOSITIONS[code] });
  }
}

/** A `DELIVERY_REJECTED` error with `facts.reason`; use it so every adapter reports refusals alike. */
export function deliveryRejected(
  reason: DeliveryRejectReason,
  shortMessage: string,
  options: { facts?: ShanduError["facts"]; cause?: unknown } = {},
): AdapterError {
  return new AdapterError("DELIVERY_REJECTED", shortMessage, { facts: { ...options.facts, reason }, cause: options.cause });
}
