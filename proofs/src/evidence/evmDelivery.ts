/**
 * Destination evidence of kind `"evm-delivery"` (docs/protocol.md §8.4.2): a proof, checkable offline,
 * that the Shandu inbox on an EVM chain executed a message of an attested batch, in a block with a given
 * hash.
 *
 * The inbox emits one event per delivery,
 * `BatchDelivered(uint64 indexed sourceChainId, bytes32 indexed root, uint64 fromNonce, bytes outcomes)`,
 * where `outcomes` holds two bits per nonce from `fromNonce` on: nonce `fromNonce + i` in bits `2i` and
 * `2i + 1`, that is byte `⌊i / 4⌋`, bits `2(i mod 4)` and `2(i mod 4) + 1`, least significant first.
 * The value is 0 when this delivery did not run the nonce (consumed before, or not in the delivery), 1
 * when it executed it, 3 when it executed it and the recipient failed (the inbox keeps it retryable).
 *
 * The evidence carries the block header, the delivering transaction and its receipt with their
 * Merkle-Patricia proofs (shared with `"evm-receipt"`, see `evmInclusion.ts`), and the index of the
 * `BatchDelivered` log in the receipt. From these the verifier establishes, with keccak-256 only:
 *
 * ```
 * keccak256(header) == blockHash
 * proof(transactionsRoot, RLP(i)) == transaction
 * proof(receiptsRoot, RLP(i)) == receipt          receipt.status == 1
 * receipt.logs[logIndex] == BatchDelivered from `inbox` with
 *   sourceChainId == message.sourceChainId, root == batch.root, outcome(message.nonce) == 1
 * ```
 *
 * The batch root binds the message: the bundle's inclusion step proves the message at leaf
 * `nonce − firstNonce` of `root`, and the inbox executes only messages it proved at that leaf of an
 * attested `root`. So no message id is needed in the event.
 *
 * Trust: as for `"evm-receipt"`, this proves the delivery happened in *a* block whose header hashes to
 * `blockHash`, not that the block is canonical or final. Whoever relies on it compares `blockHash` with a
 * node they trust, and the inbox address with the deployment, or pins it with `inboxes`. It also says
 * nothing of later `retry` calls: a message whose first execution failed fails `DELIVERY_FAILED` here
 * even if a retry succeeded since.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import type { Evidence } from "../bundle/bundle.ts";
import type { EvidenceContext, EvidenceVerifier } from "../bundle/verify.ts";
import { bytesEqual, toHex, utf8 } from "../bytes.ts";
import { EvidenceError } from "../errors.ts";
import { hex, int } from "../json.ts";
import {
  abiBytesAt,
  checkPinnedAddress,
  type EvmInclusionProof,
  evmInclusionToJson,
  logParts,
  parseEvmEvidence,
  pinnedAddresses,
  uint64Word,
  verifyEvmInclusion,
} from "./evmInclusion.ts";

/** The evidence `kind`. */
export const EVM_DELIVERY_EVIDENCE_KIND = "evm-delivery";

/** `keccak256("BatchDelivered(uint64,bytes32,uint64,bytes)")`, the event's first topic. */
export const BATCH_DELIVERED_TOPIC: Uint8Array = keccak_256(utf8("BatchDelivered(uint64,bytes32,uint64,bytes)"));

/**
 * What a `BatchDelivered` event says of one nonce: 0 not run by this delivery, 1 executed, 3 executed and
 * failed. The inbox never writes 2.
 */
export type DeliveryOutcome = 0 | 1 | 2 | 3;

/**
 * The outcome of `nonce` in the `outcomes` of a `BatchDelivered` event that starts at `fromNonce`; 0 for
 * a nonce below `fromNonce` or beyond the last byte. Inputs are untrusted; never throws.
 */
export function deliveryOutcome(fromNonce: bigint, outcomes: Uint8Array, nonce: bigint): DeliveryOutcome {
  if (nonce < fromNonce) return 0;
  const i = nonce - fromNonce;
  const byte = i >> 2n;
  if (byte >= BigInt(outcomes.length)) return 0;
  return ((outcomes[Number(byte)]! >> (Number(i & 3n) * 2)) & 3) as DeliveryOutcome;
}

/**
 * `"evm-delivery"` evidence with its members as bytes: the delivering transaction and its receipt proven
 * in their block (see {@link EvmInclusionProof}), the log's index and the inbox. Its JSON form:
 *
 * ```json
 * {
 *   "kind": "evm-delivery",
 *   "chainId": "31338",
 *   "blockHash": "0x<32 bytes>",
 *   "header": "0x<RLP of the block header>",
 *   "transactionIndex": 0,
 *   "transaction": "0x<the transaction as in the transactions trie>",
 *   "transactionProof": ["0x<trie node>", …],
 *   "receipt": "0x<the receipt as in the receipts trie>",
 *   "receiptProof": ["0x<trie node>", …],
 *   "logIndex": 0,
 *   "inbox": "0x<20-byte address>"
 * }
 * ```
 */
export interface EvmDeliveryProof extends EvmInclusionProof {
  /** Index of the `BatchDelivered` log among the logs of the receipt (not the block-wide log index), u32. */
  logIndex: number;
  /** 20-byte address of the inbox contract that emitted the log. */
  inbox: Uint8Array;
}

/** The JSON evidence object for `p`. */
export function evmDeliveryEvidence(p: EvmDeliveryProof): Evidence {
  return { kind: EVM_DELIVERY_EVIDENCE_KIND, ...evmInclusionToJson(p), logIndex: p.logIndex, inbox: toHex(p.inbox) };
}

/**
 * Reads `"evm-delivery"` evidence. Checks only the shape (types, hex, lengths); throws
 * {@link EvidenceError} `EVIDENCE_MALFORMED` with the member's path in `facts.path`.
 */
export function parseEvmDeliveryEvidence(e: Evidence): EvmDeliveryProof {
  return parseEvmEvidence(e, EVM_DELIVERY_EVIDENCE_KIND, (o) => ({
    logIndex: int(o.logIndex, "evidence.logIndex", 0, 0xffff_ffff),
    inbox: hex(o.inbox, "evidence.inbox", 20),
  }));
}

export interface EvmDeliveryVerifierOptions {
  /**
   * Inbox addresses (`0x` hex, 20 bytes) by Shandu destination chain id (decimal string). When the
   * message's destination chain has an entry, evidence naming another inbox fails `INBOX_MISMATCH`;
   * otherwise the passing detail names the unpinned inbox so that a person can compare it with the deployment.
   */
  inboxes?: Readonly<Record<string, string>>;
}

/**
 * The verifier for `"evm-delivery"` evidence. Offline and deterministic: keccak-256 and RLP only.
 *
 * Returns the one-line detail of a pass; throws {@link EvidenceError} with one of the codes
 * `EVIDENCE_MALFORMED`, `INBOX_MISMATCH`, `HEADER_HASH_MISMATCH`, `RLP_INVALID`, `HEADER_INVALID`,
 * `TRIE_PROOF_INVALID`, `TRIE_VALUE_MISMATCH`, `CHAIN_ID_MISMATCH`, `RECEIPT_INVALID`, `RECEIPT_FAILED`,
 * `LOG_NOT_FOUND`, `LOG_MISMATCH`, `BATCH_MISMATCH`, `NOT_DELIVERED_HERE`, `DELIVERY_FAILED`, in the order
 * the checks first run. See the module documentation for what a pass does and does not establish. The
 * constructor throws `CodecError` for an inbox in `opts` that is not 20-byte hex.
 */
export function evmDeliveryEvidenceVerifier(opts: EvmDeliveryVerifierOptions = {}): EvidenceVerifier {
  const pinned = pinnedAddresses(opts.inboxes, "inboxes");
  return {
    kind: EVM_DELIVERY_EVIDENCE_KIND,
    verify: (evidence, ctx) => verifyEvmDelivery(parseEvmDeliveryEvidence(evidence), ctx, pinned),
  };
}

function verifyEvmDelivery(ev: EvmDeliveryProof, ctx: EvidenceContext, pinned: ReadonlyMap<string, Uint8Array>): string {
  const m = ctx.message;
  checkPinnedAddress(pinned, m.destinationChainId, ev.inbox, "INBOX_MISMATCH", "inbox", "destination");

  const { blockNumber, txHash, logs } = verifyEvmInclusion(ev);
  const log = logs[ev.logIndex];
  if (log === undefined) {
    throw new EvidenceError("LOG_NOT_FOUND", "the receipt has no log at the evidence's log index", {
      facts: { logIndex: ev.logIndex, logs: logs.length },
    });
  }

  const parts = logParts(log);
  if (!parts) throw notBatchDelivered(ev.logIndex, "log", "not a list of [address, topics, data]");
  const delivered = batchDeliveredOf(parts, ev.inbox, ev.logIndex, BATCH_DELIVERED_TOPIC);
  checkDeliveryOutcome(delivered, ctx, ev.logIndex);

  const onChain = ev.chainId === undefined ? "the chain" : `EVM chain ${ev.chainId}`;
  const inbox = pinned.has(m.destinationChainId.toString())
    ? `the pinned inbox ${toHex(ev.inbox)}`
    : `inbox ${toHex(ev.inbox)} (not pinned for chain ${m.destinationChainId}: compare with the deployment)`;
  return `nonce ${m.nonce} executed: delivery proven in block ${toHex(ev.blockHash)} #${blockNumber} (header hash; compare with ${onChain}), transaction ${ev.transactionIndex} ${toHex(txHash)}, log ${ev.logIndex} from ${inbox}`;
}

/** What a `BatchDelivered` event says: the lane's source chain (as its 32-byte topic), the batch root, and the outcomes. */
export interface BatchDeliveredFields {
  sourceChainTopic: Uint8Array;
  root: Uint8Array;
  fromNonce: bigint;
  outcomes: Uint8Array;
}

const notBatchDelivered = (logIndex: number, field: string, reason: string) =>
  new EvidenceError("LOG_MISMATCH", `log ${logIndex} is not a BatchDelivered event from the inbox: ${reason}`, {
    facts: { logIndex, field },
  });

/**
 * Checks that a log (address, topics, data) is a well-formed `BatchDelivered` from `inbox` — event
 * signature `eventTopic` (keccak-256 on EVM chains, SM3 on SM chains), a `uint64` source chain topic,
 * `data` exactly `abi.encode(uint64 fromNonce, bytes outcomes)` (canonical: `fromNonce` zero-padded,
 * offset 64, length, zero-padded bytes) — and returns its fields. Throws `LOG_MISMATCH` naming the field.
 */
export function batchDeliveredOf(
  parts: { address: Uint8Array; topics: readonly Uint8Array[]; data: Uint8Array },
  inbox: Uint8Array,
  logIndex: number,
  eventTopic: Uint8Array,
): BatchDeliveredFields {
  const bad = (field: string, reason: string) => notBatchDelivered(logIndex, field, reason);
  if (!bytesEqual(parts.address, inbox)) throw bad("address", "emitted by another address");
  const [topic0, sourceChainTopic, root] = parts.topics;
  if (parts.topics.length !== 3 || parts.topics.some((t) => t.length !== 32)) throw bad("topics", "not three 32-byte topics");
  if (!bytesEqual(topic0!, eventTopic)) throw bad("topics[0]", "another event signature");
  if (!sourceChainTopic!.subarray(0, 24).every((b) => b === 0)) throw bad("topics[1]", "not a uint64");
  const data = parts.data;
  if (data.length < 32 || !data.subarray(0, 24).every((b) => b === 0)) throw bad("data", "fromNonce is not a uint64");
  const outcomes = abiBytesAt(data, 32, 64);
  if (!outcomes) throw bad("data", "not the ABI encoding of (uint64, bytes)");
  const fromNonce = new DataView(data.buffer, data.byteOffset + 24, 8).getBigUint64(0);
  return { sourceChainTopic: sourceChainTopic!, root: root!, fromNonce, outcomes };
}

/**
 * Checks a proven `BatchDelivered` (the log at `logIndex`) against the bundle: its source chain is the
 * message's and its root the batch's (`BATCH_MISMATCH`), and its outcome for the message's nonce is 1 —
 * 0 fails `NOT_DELIVERED_HERE`, 3 `DELIVERY_FAILED`, 2 (never written by the inbox) `LOG_MISMATCH`.
 */
export function checkDeliveryOutcome(delivered: BatchDeliveredFields, ctx: EvidenceContext, logIndex: number): void {
  const m = ctx.message;
  const mismatch = (field: string, proven: Uint8Array | bigint, expected: Uint8Array | bigint) =>
    new EvidenceError("BATCH_MISMATCH", `the proven delivery is of another ${field} than the bundle's`, {
      facts: {
        field,
        proven: typeof proven === "bigint" ? proven : toHex(proven),
        bundle: typeof expected === "bigint" ? expected : toHex(expected),
      },
    });
  if (!bytesEqual(delivered.sourceChainTopic, uint64Word(m.sourceChainId))) {
    throw mismatch("source chain", delivered.sourceChainTopic, m.sourceChainId);
  }
  if (!bytesEqual(delivered.root, ctx.batch.root)) throw mismatch("batch root", delivered.root, ctx.batch.root);

  const outcome = deliveryOutcome(delivered.fromNonce, delivered.outcomes, m.nonce);
  const facts = { nonce: m.nonce, fromNonce: delivered.fromNonce, outcomeBytes: delivered.outcomes.length, outcome };
  if (outcome === 0) {
    throw new EvidenceError("NOT_DELIVERED_HERE", "the proven delivery did not execute the message's nonce", { facts });
  }
  if (outcome === 3) {
    throw new EvidenceError("DELIVERY_FAILED", "the inbox executed the message and the recipient failed (retryable on chain)", {
      facts,
    });
  }
  if (outcome === 2) {
    throw new EvidenceError("LOG_MISMATCH", `log ${logIndex} holds outcome 2 for the nonce, which the inbox never writes`, {
      facts: { ...facts, logIndex, field: "data" },
    });
  }
}
