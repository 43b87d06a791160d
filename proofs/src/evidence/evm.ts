/**
 * Source evidence of kind `"evm-receipt"` (docs/protocol.md §8.4.1): a proof, checkable offline, that
 * the Shandu outbox on an EVM chain emitted a message in a block with a given hash.
 *
 * The outbox emits `MessageSent(uint64 indexed destinationChainId, uint64 indexed nonce, bytes body)`
 * where `body` is fields 1–8 of the message encoding (§2.1). The evidence carries the block header, the
 * transaction and its receipt, each with its Merkle-Patricia proof (see `mpt.ts`) under the header's
 * `transactionsRoot` and `receiptsRoot` at key `RLP(transactionIndex)` (the part every EVM evidence kind
 * shares, `evmInclusion.ts`). From these the verifier establishes, with keccak-256 only:
 *
 * ```
 * keccak256(header) == blockHash                  header.number == message.source.blockNumber
 * proof(transactionsRoot, RLP(i)) == transaction  keccak256(transaction) == message.source.txHash
 * proof(receiptsRoot, RLP(i)) == receipt          receipt.status == 1
 * receipt.logs[message.source.logIndex] == MessageSent from `outbox`, whose
 *   body ‖ u64(blockNumber) ‖ txHash ‖ u32(logIndex) == encodeMessage(message)
 * ```
 *
 * Trust: this proves that the log is in *a* block whose header hashes to `blockHash`. It does not prove
 * that this block is part of the canonical chain, or final: nothing offline can. Whoever relies on the
 * evidence compares `blockHash` (and the block number) with a node they trust, and the outbox address with
 * the deployment, or pins it with `outboxes`. `chainId` names the EVM chain to compare with; the verifier
 * only checks it against the chain id the transaction was signed for.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import type { Evidence } from "../bundle/bundle.ts";
import type { EvidenceContext, EvidenceVerifier } from "../bundle/verify.ts";
import { ByteWriter, bytesEqual, toHex, utf8 } from "../bytes.ts";
import { EvidenceError } from "../errors.ts";
import { hex } from "../json.ts";
import { encodeMessage } from "../message.ts";
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
import type { RlpItem } from "./rlp.ts";

/** The evidence `kind`. */
export const EVM_RECEIPT_EVIDENCE_KIND = "evm-receipt";

/** `keccak256("MessageSent(uint64,uint64,bytes)")`, the event's first topic. */
export const MESSAGE_SENT_TOPIC: Uint8Array = keccak_256(utf8("MessageSent(uint64,uint64,bytes)"));

/**
 * `"evm-receipt"` evidence with its members as bytes: the transaction and receipt proven in their block
 * (see {@link EvmInclusionProof}) and the outbox. Its JSON form (hex strings, §1.4):
 *
 * ```json
 * {
 *   "kind": "evm-receipt",
 *   "chainId": "31337",
 *   "blockHash": "0x<32 bytes>",
 *   "header": "0x<RLP of the block header>",
 *   "transactionIndex": 2,
 *   "transaction": "0x<the transaction as in the transactions trie>",
 *   "transactionProof": ["0x<trie node>", …],
 *   "receipt": "0x<the receipt as in the receipts trie>",
 *   "receiptProof": ["0x<trie node>", …],
 *   "outbox": "0x<20-byte address>"
 * }
 * ```
 */
export interface EvmReceiptProof extends EvmInclusionProof {
  /** 20-byte address of the outbox contract that emitted the log. */
  outbox: Uint8Array;
}

/** The JSON evidence object for `p`. */
export function evmReceiptEvidence(p: EvmReceiptProof): Evidence {
  return { kind: EVM_RECEIPT_EVIDENCE_KIND, ...evmInclusionToJson(p), outbox: toHex(p.outbox) };
}

/**
 * Reads `"evm-receipt"` evidence. Checks only the shape (types, hex, lengths); throws
 * {@link EvidenceError} `EVIDENCE_MALFORMED` with the member's path in `facts.path`.
 */
export function parseEvmReceiptEvidence(e: Evidence): EvmReceiptProof {
  return parseEvmEvidence(e, EVM_RECEIPT_EVIDENCE_KIND, (o) => ({ outbox: hex(o.outbox, "evidence.outbox", 20) }));
}

export interface EvmReceiptVerifierOptions {
  /**
   * Outbox addresses (`0x` hex, 20 bytes) by Shandu source chain id (decimal string). When the message's
   * source chain has an entry, evidence naming another outbox fails `OUTBOX_MISMATCH`; otherwise the
   * passing detail names the unpinned outbox so that a person can compare it with the deployment.
   */
  outboxes?: Readonly<Record<string, string>>;
}

/**
 * The verifier for `"evm-receipt"` evidence. Offline and deterministic: keccak-256 and RLP only.
 *
 * Returns the one-line detail of a pass; throws {@link EvidenceError} with one of the codes
 * `EVIDENCE_MALFORMED`, `OUTBOX_MISMATCH`, `HEADER_HASH_MISMATCH`, `RLP_INVALID`, `HEADER_INVALID`,
 * `BLOCK_NUMBER_MISMATCH`, `TRIE_PROOF_INVALID`, `TRIE_VALUE_MISMATCH`, `TX_HASH_MISMATCH`,
 * `CHAIN_ID_MISMATCH`, `RECEIPT_INVALID`, `RECEIPT_FAILED`, `LOG_NOT_FOUND`, `LOG_MISMATCH`,
 * `MESSAGE_MISMATCH`, in the order the checks first run (`RLP_INVALID` can also come from the transaction
 * or the receipt). See the module documentation for what a pass does and does not establish. The
 * constructor throws `CodecError` for an outbox in `opts` that is not 20-byte hex.
 */
export function evmReceiptEvidenceVerifier(opts: EvmReceiptVerifierOptions = {}): EvidenceVerifier {
  const pinned = pinnedAddresses(opts.outboxes, "outboxes");
  return {
    kind: EVM_RECEIPT_EVIDENCE_KIND,
    verify: (evidence, ctx) => verifyEvmReceipt(parseEvmReceiptEvidence(evidence), ctx, pinned),
  };
}

function verifyEvmReceipt(ev: EvmReceiptProof, ctx: EvidenceContext, pinned: ReadonlyMap<string, Uint8Array>): string {
  const m = ctx.message;
  checkPinnedAddress(pinned, m.sourceChainId, ev.outbox, "OUTBOX_MISMATCH", "outbox", "source");

  const { blockNumber: number, txHash, logs } = verifyEvmInclusion(ev, { blockNumber: m.source.blockNumber, txHash: m.source.txHash });
  const logIndex = m.source.logIndex;
  const log = logs[logIndex];
  if (log === undefined) {
    throw new EvidenceError("LOG_NOT_FOUND", "the receipt has no log at the message's log index", {
      facts: { logIndex, logs: logs.length },
    });
  }

  // Log
  const body = messageSentBody(log, ev.outbox, logIndex);
  const encoding = encodeMessage(m);
  const proven = new ByteWriter(body.length + 44).bytes(body).u64(number).bytes(txHash).u32(logIndex).finish();
  if (!bytesEqual(proven, encoding)) {
    throw new EvidenceError("MESSAGE_MISMATCH", "the emitted message body is not the message's fields 1–8", {
      facts: { logIndex, bodyBytes: body.length, messageBytes: encoding.length - 44 },
    });
  }

  const onChain = ev.chainId === undefined ? "the chain" : `EVM chain ${ev.chainId}`;
  const outbox = pinned.has(m.sourceChainId.toString())
    ? `the pinned outbox ${toHex(ev.outbox)}`
    : `outbox ${toHex(ev.outbox)} (not pinned for chain ${m.sourceChainId}: compare with the deployment)`;
  return `receipt proven in block ${toHex(ev.blockHash)} #${number} (header hash; compare with ${onChain}), transaction ${ev.transactionIndex}, log ${logIndex} from ${outbox}`;
}

/** Checks that `log` is a well-formed `MessageSent` from `outbox` and returns its `body`. */
function messageSentBody(log: RlpItem, outbox: Uint8Array, logIndex: number): Uint8Array {
  const parts = logParts(log);
  if (!parts) {
    throw new EvidenceError(
      "LOG_MISMATCH",
      `log ${logIndex} is not a MessageSent event from the outbox: not a list of [address, topics, data]`,
      {
        facts: { logIndex, field: "log" },
      },
    );
  }
  return messageSentBodyOf(parts, outbox, logIndex, MESSAGE_SENT_TOPIC);
}

/**
 * Checks that a log (address, topics, data) is a well-formed `MessageSent` from `outbox` — event
 * signature `eventTopic` (keccak-256 on EVM chains, SM3 on SM chains), topics repeating the body's
 * destination and nonce — and returns its `body`. Throws `LOG_MISMATCH` naming the field.
 */
export function messageSentBodyOf(
  parts: { address: Uint8Array; topics: readonly Uint8Array[]; data: Uint8Array },
  outbox: Uint8Array,
  logIndex: number,
  eventTopic: Uint8Array,
): Uint8Array {
  const bad = (field: string, reason: string) =>
    new EvidenceError("LOG_MISMATCH", `log ${logIndex} is not a MessageSent event from the outbox: ${reason}`, {
      facts: { logIndex, field },
    });
  if (!bytesEqual(parts.address, outbox)) throw bad("address", "emitted by another address");
  const [topic0, destination, nonce] = parts.topics;
  if (parts.topics.length !== 3 || parts.topics.some((t) => t.length !== 32)) throw bad("topics", "not three 32-byte topics");
  if (!bytesEqual(topic0!, eventTopic)) throw bad("topics[0]", "another event signature");
  // abi.encode(bytes body): offset 32, length, zero-padded bytes.
  const body = abiBytesAt(parts.data, 0, 32);
  if (!body) throw bad("data", "not the ABI encoding of one bytes value");
  // The indexed topics must repeat the body's destination chain id (bytes 9..17) and nonce (17..25).
  if (body.length < 25) throw bad("data", "body too short for a message");
  const u64At = (at: number) => new DataView(body.buffer, body.byteOffset + at, 8).getBigUint64(0);
  if (!bytesEqual(destination!, uint64Word(u64At(9)))) throw bad("topics[1]", "destination chain id differs from the body's");
  if (!bytesEqual(nonce!, uint64Word(u64At(17)))) throw bad("topics[2]", "nonce differs from the body's");
  return body;
}
