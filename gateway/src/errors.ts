/**
 * Gateway errors. Each code has one disposition and one gRPC / HTTP status, in {@link GATEWAY_ERRORS}:
 * the gRPC and HTTP layers and the attester's client read that table and nothing else.
 */
import { ShanduError } from "@shandu/proofs";

export type GatewayErrorCode =
  /** A partial from a member id or index the committee of that epoch does not have. */
  | "UNKNOWN_MEMBER"
  /** A partial for an epoch the gateway does not accept now (unknown, not active yet, or expired). */
  | "WRONG_EPOCH"
  /** The partial's signature does not verify for the member's key over the batch's signing root. */
  | "BAD_SIGNATURE"
  /**
   * On a lane whose destination verifies native co-signatures (docs/protocol.md §6.5): the partial has
   * no native signature of the destination's scheme, or it does not verify for the member's native key.
   */
  | "BAD_NATIVE_SIGNATURE"
  /** The messages do not hash to the header's root, the header is malformed, or it overlaps an attested batch differently. */
  | "BATCH_MISMATCH"
  /** The member already signed a different root for this nonce range: evidence was recorded. */
  | "EQUIVOCATION"
  /** The lane is not configured on this gateway. */
  | "UNKNOWN_LANE"
  /** No such batch, attestation or message (yet). */
  | "NOT_FOUND"
  /** A request field is missing or malformed; `facts.field` names it. */
  | "INVALID_REQUEST"
  /** The store or the queue is unavailable; retry. */
  | "UNAVAILABLE"
  /** The service is shutting down. */
  | "CLOSED";

export interface GatewayErrorInfo {
  disposition: "reject" | "retry";
  /** gRPC status code number (see @grpc/grpc-js `status`). */
  grpc: number;
  http: number;
}

export const GATEWAY_ERRORS: Readonly<Record<GatewayErrorCode, GatewayErrorInfo>> = {
  UNKNOWN_MEMBER: { disposition: "reject", grpc: 7 /* PERMISSION_DENIED */, http: 403 },
  WRONG_EPOCH: { disposition: "reject", grpc: 9 /* FAILED_PRECONDITION */, http: 409 },
  BAD_SIGNATURE: { disposition: "reject", grpc: 3 /* INVALID_ARGUMENT */, http: 400 },
  BAD_NATIVE_SIGNATURE: { disposition: "reject", grpc: 3, http: 400 },
  BATCH_MISMATCH: { disposition: "reject", grpc: 3, http: 400 },
  EQUIVOCATION: { disposition: "reject", grpc: 9, http: 409 },
  UNKNOWN_LANE: { disposition: "reject", grpc: 5 /* NOT_FOUND */, http: 404 },
  NOT_FOUND: { disposition: "retry", grpc: 5, http: 404 },
  INVALID_REQUEST: { disposition: "reject", grpc: 3, http: 400 },
  UNAVAILABLE: { disposition: "retry", grpc: 14 /* UNAVAILABLE */, http: 503 },
  CLOSED: { disposition: "retry", grpc: 14, http: 503 },
};

export class GatewayError extends ShanduError<GatewayErrorCode> {
  override readonly name = "GatewayError";
  constructor(code: GatewayErrorCode, shortMessage: string, options: { facts?: ShanduError["facts"]; cause?: unknown } = {}) {
    super(code, shortMessage, { ...options, disposition: GATEWAY_ERRORS[code].disposition });
  }
}
