/**
 * The `ChainAdapter` interface: what the attester, the gateway and the relayers need from a chain, and
 * what every chain kind (EVM, FISCO BCOS, Fabric, Substrate, and the in-memory chain for tests)
 * implements. Adapters never import each other or the services; a service picks them from one explicit
 * map of {@link AdapterModule}s.
 *
 * Trust: everything an adapter reads from a node is as trustworthy as that node, which is why the
 * attester only signs final positions and a destination verifies every delivery itself. A delivery handed
 * to {@link ChainAdapter.submitBatch} is untrusted: the destination's verifier, not the adapter, decides.
 */
import type {
  Attestation,
  BatchHeader,
  Bls,
  ChainId,
  Committee,
  Evidence,
  Message,
  MessageId,
  MultiProof,
  NativeAttestation,
  NativeKeySchemeName,
  RotationRecord,
} from "@shandu/proofs";

/**
 * A position in a chain's ordered stream of outbox events; a watch resumes strictly after it. Persist it
 * with `cursorToJson`. Every chain kind maps onto it: EVM and FISCO BCOS use (block number, log index in
 * the block), Fabric (block number, transaction index), Substrate (finalized block number, event index).
 */
export interface Cursor {
  blockNumber: bigint;
  /** Order of the event within its block; −1 means "before the first event of `blockNumber`". */
  eventIndex: number;
  /**
   * Hash of block `blockNumber` as the adapter saw it, or `null` for a start position. A watch resumed
   * from a cursor whose block no longer has this hash throws `REORG_BELOW_FINALITY`.
   */
  blockHash: Uint8Array | null;
}

/** One finalized outbox message, as a watch yields it. */
export interface WatchItem {
  /** Decoded from the chain's event and checked by re-encoding (untrusted beyond the node's word). */
  message: Message;
  /** The canonical encoding of `message`. */
  encoding: Uint8Array;
  /** `messageIdOfEncoding(encoding)`. */
  id: MessageId;
  /** Resume after this item. */
  cursor: Cursor;
}

/** A one-way lane between two chains; nonces are strictly increasing per lane. */
export interface Lane {
  sourceChainId: ChainId;
  destinationChainId: ChainId;
}

/** The committee chain a destination walks from its own trusted genesis (never from this one). */
export interface CommitteeProof {
  /** Must equal the genesis the destination was deployed with; a different one is refused. */
  genesis: Committee;
  rotations: RotationRecord[];
}

/**
 * An attested batch, or part of one, on its way to the destination. Everything in it is untrusted.
 * `messages` are in increasing nonce order and `proof` proves them at leaf indices `nonce − firstNonce`
 * of a tree of `lastNonce − firstNonce + 1` leaves.
 */
export interface Delivery {
  header: BatchHeader;
  attestation: Attestation;
  committees: CommitteeProof;
  messages: Message[];
  proof: MultiProof;
  /**
   * The same signers' native co-signatures (docs/protocol.md §6.5), for a destination whose inbox
   * verifies those instead of the BLS aggregate (FISCO BCOS). Untrusted like the rest.
   */
  nativeAttestation?: NativeAttestation;
}

export interface DeliveryReceipt {
  /** The transaction that executed messages, or `null` when every message had already been delivered. */
  tx: { hash: Uint8Array; blockNumber: bigint } | null;
  /** Nonces this submission executed, in order. */
  executed: bigint[];
  /** Nonces that were delivered before and were not executed again. */
  alreadyDelivered: bigint[];
}

export interface DeliveryStatus {
  status: "delivered" | "not-delivered";
  /** A relayer holds deliveries for a paused lane instead of spending transactions on them. */
  lanePaused: boolean;
}

export interface CancelOptions {
  signal: AbortSignal;
}

export interface WatchOptions extends CancelOptions {
  /**
   * Called with a block number once every final outbox event at or below it has been yielded: the
   * watch has nothing more to say about those blocks. Attesters close their batch windows on it, so
   * batch boundaries follow the chain, not the clock, and every honest attester builds the same batches.
   * Non-decreasing; called at least once per poll while the watch waits.
   */
  onFinalized?: (blockNumber: bigint) => void;
}

export interface ChainAdapter {
  /** Chain kind, e.g. "evm", "fisco-bcos", "fabric", "substrate", "memory". */
  readonly kind: string;
  /** The Shandu chain id this adapter serves. */
  readonly chainId: ChainId;

  /**
   * Finalized outbox messages after `from`, in order, waiting for new ones until `opts.signal` aborts or
   * the adapter is closed; then the iteration ends. Only positions final under the adapter's finality
   * rule are yielded. Throws `AdapterError`: `REORG_BELOW_FINALITY` when a position already treated as
   * final changes (including `from` itself), `INVALID_CURSOR`, `RPC_*`, `CLOSED`.
   */
  watch(from: Cursor, opts: WatchOptions): AsyncIterable<WatchItem>;

  /**
   * Chain-specific evidence that `message` was emitted at its source position (kind per chain, e.g.
   * "evm-receipt"). Throws `NOT_FINALIZED` (retry) or `MESSAGE_NOT_FOUND`.
   */
  sourceEvidence(message: Message): Promise<Evidence>;

  /**
   * Delivers an attested batch (or a subset of it) to this chain's inbox. Idempotent: nonces already
   * delivered are reported in `alreadyDelivered` and never executed twice. Throws `AdapterError`:
   * `DELIVERY_REJECTED` (permanent, `facts.reason`), `LANE_PAUSED`, `CANCELLED`, `RPC_*`,
   * `INSUFFICIENT_FUNDS`, `SUBMISSION_TIMEOUT`, `CLOSED`. On any error nothing was executed, except after
   * `SUBMISSION_TIMEOUT`, where {@link deliveryStatus} tells.
   */
  submitBatch(delivery: Delivery, opts: CancelOptions): Promise<DeliveryReceipt>;

  /** Whether (lane, nonce) was executed here. Throws `WRONG_LANE` for a lane that does not end on this chain. */
  deliveryStatus(lane: Lane, nonce: bigint): Promise<DeliveryStatus>;

  /** Evidence that (lane, nonce) was executed here, or `null` if it was not. Throws `WRONG_LANE`. */
  destinationEvidence(lane: Lane, nonce: bigint): Promise<Evidence | null>;

  /** Ends running watches and releases connections. Idempotent; later calls on the adapter throw `CLOSED`. */
  close(): Promise<void>;
}

/** What a service hands every adapter it creates. */
export interface AdapterContext {
  bls: Bls;
}

/** Every adapter config names its kind and the Shandu chain it serves. */
export interface AdapterConfigBase {
  kind: string;
  chainId: ChainId;
}

/**
 * An adapter is data plus a factory. `parseConfig` validates untrusted configuration (YAML or JSON
 * already parsed) and throws `INVALID_CONFIG` naming the field; `create` connects and checks the chain
 * (`WRONG_CHAIN_ID`, `CONTRACT_NOT_DEPLOYED`, `RPC_UNAVAILABLE`).
 */
export interface AdapterModule<Config extends AdapterConfigBase = AdapterConfigBase> {
  readonly kind: string;
  parseConfig(raw: unknown): Config;
  create(config: Config, ctx: AdapterContext): Promise<ChainAdapter>;
  /**
   * The native co-signature scheme (§6.5) this chain's inbox verifies, when it cannot verify BLS
   * aggregates; attesters then co-sign its lanes with that scheme and the gateway requires it.
   */
  nativeScheme?(config: Config): NativeKeySchemeName | undefined;
}
