/**
 * What the gateway serves, independent of transport. `rpc/grpcServer.ts` and `rpc/httpServer.ts` expose
 * a {@link GatewayApi} over gRPC and HTTP/JSON; `rpc/grpcClient.ts` gives attesters and tools the same
 * interface over the network. Methods throw {@link GatewayError}; the transports map codes through
 * `GATEWAY_ERRORS` and the client maps them back, so a caller sees the same code locally and remotely.
 */
import type { Attestation, BatchHeader, Committee, NativeAttestation, NativeKeySchemeName, RotationRecord } from "@shandu/proofs";

export interface SubmitPartialRequest {
  header: BatchHeader;
  epoch: bigint;
  /** Member id as in the committee. */
  memberId: string;
  /** 96-byte G2 signature over `batchSigningRoot(committeeSetHash(epoch), epoch, header)`. */
  signature: Uint8Array;
  /** Canonical message encodings with nonces firstNonce..lastNonce, in order. */
  messages: Uint8Array[];
  /**
   * Native co-signatures over the same signing root (docs/protocol.md §6.5), at most one per scheme.
   * Required, in the destination's scheme, on lanes whose destination verifies native co-signatures.
   */
  native?: { scheme: NativeKeySchemeName; signature: Uint8Array }[];
}

export type SubmitPartialStatus =
  /** Stored; the batch has not reached quorum yet. */
  | "accepted"
  /** This member's partial for this batch was already stored (re-sent after a restart). */
  | "duplicate"
  /** The batch is attested (by this partial or before it). */
  | "attested";

export interface SubmitPartialResponse {
  status: SubmitPartialStatus;
}

/** An attested batch as the gateway stores, publishes and streams it. */
export interface AttestedBatch {
  header: BatchHeader;
  attestation: Attestation;
  /** The same signers' native co-signatures, for a destination that verifies those (§6.5). */
  native?: NativeAttestation;
  /** Canonical message encodings, nonce order. */
  messages: Uint8Array[];
  /** The committee chain from genesis a destination walks to check `attestation`. */
  committees: { genesis: Committee; rotations: RotationRecord[] };
  /** Index of this batch's leaf in the transparency log. */
  logIndex: bigint;
}

export interface BatchRef {
  sourceChainId: bigint;
  destinationChainId: bigint;
  firstNonce: bigint;
  lastNonce: bigint;
}

export interface MessageRef {
  sourceChainId: bigint;
  destinationChainId: bigint;
  nonce: bigint;
}

export interface LaneStatus {
  sourceChainId: bigint;
  destinationChainId: bigint;
  /** Highest attested nonce, or null when nothing was attested yet. */
  lastAttestedNonce: bigint | null;
  attestedBatches: number;
  /** Batches with partials but no quorum yet. */
  pendingBatches: number;
  /** Termination records relayers left for this lane. */
  terminated: number;
}

/** A signed tree head of the transparency log (see `proofs` translog module for the signed bytes). */
export interface SignedTreeHead {
  treeSize: bigint;
  rootHash: Uint8Array;
  /** Milliseconds since the epoch. */
  timestampMs: bigint;
  /** Ed25519 signature over the tree-head bytes. */
  signature: Uint8Array;
  /** The gateway log's Ed25519 public key (32 bytes). */
  publicKey: Uint8Array;
}

export interface HealthStatus {
  ok: boolean;
  store: "ok" | "unavailable";
  queue: "ok" | "unavailable";
  /** jetstream or embedded. */
  queueKind: string;
  version: string;
}

export interface GatewayApi {
  submitPartial(req: SubmitPartialRequest): Promise<SubmitPartialResponse>;
  /** Throws NOT_FOUND while the batch is not attested. */
  getAttestation(ref: BatchRef): Promise<AttestedBatch>;
  /** The proof bundle of one message, as bundle JSON (docs/protocol.md §8). Throws NOT_FOUND. */
  getProofBundle(ref: MessageRef): Promise<unknown>;
  /**
   * Attested batches in log order from `fromLogIndex`, then new ones as they are attested, until
   * `signal` aborts. `destinationChainId` filters.
   */
  streamAttestedBatches(opts: { fromLogIndex: bigint; destinationChainId?: bigint; signal: AbortSignal }): AsyncIterable<AttestedBatch>;
  listLanes(): Promise<LaneStatus[]>;
  treeHead(): Promise<SignedTreeHead>;
  /** Audit path of leaf `index` in the tree of `treeSize` leaves (RFC 6962 §2.1.1). */
  inclusionProof(index: bigint, treeSize: bigint): Promise<{ leaf: Uint8Array; path: Uint8Array[] }>;
  /** RFC 6962 §2.1.2 consistency proof between two tree sizes. */
  consistencyProof(fromSize: bigint, toSize: bigint): Promise<Uint8Array[]>;
  health(): Promise<HealthStatus>;
}
