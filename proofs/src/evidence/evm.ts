/**
 * Source evidence of kind `"evm-receipt"` (docs/protocol.md §8.4.1): a proof, checkable offline, that
 * the Shandu outbox on an EVM chain emitted a message in a block with a given hash.
 *
 * The outbox emits `MessageSent(uint64 indexed destinationChainId, uint64 indexed nonce, bytes body)`
 * where `body` is fields 1–8 of the message encoding (§2.1). The evidence carries the block header, the
 * transaction and its receipt, each with its Merkle-Patricia proof (see `mpt.ts`) under the header's
 * `transactionsRoot` and `receiptsRoot` at key `RLP(transactionIndex)`. From these the verifier
 * establishes, with keccak-256 only:
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
import { ByteWriter, bytesEqual, fromHex, toHex, utf8 } from "../bytes.ts";
import { BundleError, EvidenceError } from "../errors.ts";
import { arr, hex, int, obj, u64 } from "../json.ts";
import { encodeMessage } from "../message.ts";
import { indexKey, verifyTrieProof } from "./mpt.ts";
import { type RlpItem, rlpDecode, rlpUint } from "./rlp.ts";

/** The evidence `kind`. */
export const EVM_RECEIPT_EVIDENCE_KIND = "evm-receipt";

/** `keccak256("MessageSent(uint64,uint64,bytes)")`, the event's first topic. */
export const MESSAGE_SENT_TOPIC: Uint8Array = keccak_256(utf8("MessageSent(uint64,uint64,bytes)"));

/** Header field positions (Yellow Paper §4.3; later forks only append fields). */
const HEADER_TRANSACTIONS_ROOT = 4;
const HEADER_RECEIPTS_ROOT = 5;
const HEADER_NUMBER = 8;
/** Fields of a pre-London header; every later header has more. */
const HEADER_MIN_FIELDS = 15;

/** Limits for the hex members, in bytes: generous for real blocks, small enough to bound the work. */
const MAX_HEADER_BYTES = 65_536;
const MAX_ITEM_BYTES = 4 << 20;
const MAX_PROOF_NODES = 64;

/**
 * `"evm-receipt"` evidence with its members as bytes. Its JSON form (hex strings, §1.4):
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
export interface EvmReceiptProof {
  /**
   * EIP-155 chain id of the EVM chain (not the Shandu chain id): the chain to compare `blockHash` with.
   * Optional; when given, it must be the chain id the transaction was signed for, if the transaction states one.
   */
  chainId?: bigint;
  /** 32-byte block hash: `keccak256(header)`. */
  blockHash: Uint8Array;
  /** RLP of the block header, any fork from Frontier to Prague (and later forks that append fields). */
  header: Uint8Array;
  /** Position of the transaction in the block (u32). */
  transactionIndex: number;
  /** The transaction's consensus encoding: `type ‖ RLP(fields)` when typed (EIP-2718), else `RLP(fields)`. */
  transaction: Uint8Array;
  /** Nodes of the transactions trie from the root to key `RLP(transactionIndex)`, root first. */
  transactionProof: Uint8Array[];
  /** The receipt's consensus encoding: `type ‖ RLP([status, cumulativeGasUsed, logsBloom, logs])`, or the bare list. */
  receipt: Uint8Array;
  /** Nodes of the receipts trie from the root to key `RLP(transactionIndex)`, root first. */
  receiptProof: Uint8Array[];
  /** 20-byte address of the outbox contract that emitted the log. */
  outbox: Uint8Array;
}

/** The JSON evidence object for `p`. */
export function evmReceiptEvidence(p: EvmReceiptProof): Evidence {
  return {
    kind: EVM_RECEIPT_EVIDENCE_KIND,
    ...(p.chainId === undefined ? {} : { chainId: p.chainId.toString() }),
    blockHash: toHex(p.blockHash),
    header: toHex(p.header),
    transactionIndex: p.transactionIndex,
    transaction: toHex(p.transaction),
    transactionProof: p.transactionProof.map(toHex),
    receipt: toHex(p.receipt),
    receiptProof: p.receiptProof.map(toHex),
    outbox: toHex(p.outbox),
  };
}

/**
 * Reads `"evm-receipt"` evidence. Checks only the shape (types, hex, lengths); throws
 * {@link EvidenceError} `EVIDENCE_MALFORMED` with the member's path in `facts.path`.
 */
export function parseEvmReceiptEvidence(e: Evidence): EvmReceiptProof {
  try {
    const o = obj(e, "evidence");
    if (o.kind !== EVM_RECEIPT_EVIDENCE_KIND) {
      throw new BundleError("SCHEMA", `evidence.kind: expected "${EVM_RECEIPT_EVIDENCE_KIND}"`, { facts: { path: "evidence.kind" } });
    }
    const proof = (v: unknown, path: string) =>
      arr(v, path, MAX_PROOF_NODES).map((n, i) => hex(n, `${path}[${i}]`, undefined, MAX_ITEM_BYTES));
    return {
      ...(o.chainId === undefined || o.chainId === null ? {} : { chainId: u64(o.chainId, "evidence.chainId") }),
      blockHash: hex(o.blockHash, "evidence.blockHash", 32),
      header: hex(o.header, "evidence.header", undefined, MAX_HEADER_BYTES),
      transactionIndex: int(o.transactionIndex, "evidence.transactionIndex", 0, 0xffff_ffff),
      transaction: hex(o.transaction, "evidence.transaction", undefined, MAX_ITEM_BYTES),
      transactionProof: proof(o.transactionProof, "evidence.transactionProof"),
      receipt: hex(o.receipt, "evidence.receipt", undefined, MAX_ITEM_BYTES),
      receiptProof: proof(o.receiptProof, "evidence.receiptProof"),
      outbox: hex(o.outbox, "evidence.outbox", 20),
    };
  } catch (cause) {
    if (!(cause instanceof BundleError)) throw cause;
    const path = String(cause.facts.path ?? "evidence");
    throw new EvidenceError("EVIDENCE_MALFORMED", `evm-receipt evidence is malformed: ${cause.shortMessage}`, { facts: { path }, cause });
  }
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
  const pinned = new Map<string, Uint8Array>();
  for (const [chain, address] of Object.entries(opts.outboxes ?? {})) pinned.set(chain, fromHex(address, 20, `outboxes[${chain}]`));
  return {
    kind: EVM_RECEIPT_EVIDENCE_KIND,
    verify: (evidence, ctx) => verifyEvmReceipt(parseEvmReceiptEvidence(evidence), ctx, pinned),
  };
}

function verifyEvmReceipt(ev: EvmReceiptProof, ctx: EvidenceContext, pinned: ReadonlyMap<string, Uint8Array>): string {
  const m = ctx.message;
  const sourceChain = m.sourceChainId.toString();
  const pin = pinned.get(sourceChain);
  if (pin && !bytesEqual(pin, ev.outbox)) {
    throw new EvidenceError("OUTBOX_MISMATCH", "the evidence names another outbox than the one pinned for the source chain", {
      facts: { sourceChainId: sourceChain, pinned: toHex(pin), evidence: toHex(ev.outbox) },
    });
  }

  // Header
  const headerHash = keccak_256(ev.header);
  if (!bytesEqual(headerHash, ev.blockHash)) {
    throw new EvidenceError("HEADER_HASH_MISMATCH", "the block header does not hash to the block hash", {
      facts: { blockHash: toHex(ev.blockHash), headerHash: toHex(headerHash) },
    });
  }
  const header = rlpDecode(ev.header, "block header");
  if (!Array.isArray(header) || header.length < HEADER_MIN_FIELDS) {
    throw new EvidenceError("HEADER_INVALID", "the block header is not a list of at least 15 fields", {
      facts: { fields: Array.isArray(header) ? header.length : "string" },
    });
  }
  const transactionsRoot = hash32(header[HEADER_TRANSACTIONS_ROOT]!, "transactionsRoot");
  const receiptsRoot = hash32(header[HEADER_RECEIPTS_ROOT]!, "receiptsRoot");
  const number = rlpUint(header[HEADER_NUMBER]!);
  if (number === null) {
    throw new EvidenceError("HEADER_INVALID", "the header's number is not a canonical u64", { facts: { field: "number" } });
  }
  if (number !== m.source.blockNumber) {
    throw new EvidenceError("BLOCK_NUMBER_MISMATCH", "the block is not the message's source block", {
      facts: { header: number, message: m.source.blockNumber },
    });
  }

  // Transaction
  const key = indexKey(ev.transactionIndex);
  const provenTx = verifyTrieProof(transactionsRoot, key, ev.transactionProof, "transactions trie");
  if (provenTx === null || !bytesEqual(provenTx, ev.transaction)) {
    throw new EvidenceError("TRIE_VALUE_MISMATCH", "the transactions trie proof proves another transaction at this index", {
      facts: { trie: "transactions", transactionIndex: ev.transactionIndex, proven: provenTx === null ? "absent" : "different bytes" },
    });
  }
  const txHash = keccak_256(ev.transaction);
  if (!bytesEqual(txHash, m.source.txHash)) {
    throw new EvidenceError("TX_HASH_MISMATCH", "the proven transaction is not the message's source transaction", {
      facts: { proven: toHex(txHash), message: toHex(m.source.txHash) },
    });
  }
  const txType = typeOf(ev.transaction);
  if (ev.chainId !== undefined) {
    const signedFor = transactionChainId(ev.transaction, txType);
    if (signedFor !== null && signedFor !== ev.chainId) {
      throw new EvidenceError("CHAIN_ID_MISMATCH", "the transaction was signed for another EVM chain than the evidence names", {
        facts: { evidence: ev.chainId, transaction: signedFor },
      });
    }
  }

  // Receipt
  const provenReceipt = verifyTrieProof(receiptsRoot, key, ev.receiptProof, "receipts trie");
  if (provenReceipt === null || !bytesEqual(provenReceipt, ev.receipt)) {
    throw new EvidenceError("TRIE_VALUE_MISMATCH", "the receipts trie proof proves another receipt at this index", {
      facts: { trie: "receipts", transactionIndex: ev.transactionIndex, proven: provenReceipt === null ? "absent" : "different bytes" },
    });
  }
  const logs = receiptLogs(ev.receipt, txType);
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
  const outbox = pin
    ? `the pinned outbox ${toHex(ev.outbox)}`
    : `outbox ${toHex(ev.outbox)} (not pinned for chain ${sourceChain}: compare with the deployment)`;
  return `receipt proven in block ${toHex(ev.blockHash)} #${number} (header hash; compare with ${onChain}), transaction ${ev.transactionIndex}, log ${logIndex} from ${outbox}`;
}

function hash32(item: RlpItem, field: string): Uint8Array {
  if (!(item instanceof Uint8Array) || item.length !== 32) {
    throw new EvidenceError("HEADER_INVALID", `the header's ${field} is not 32 bytes`, { facts: { field } });
  }
  return item;
}

/** EIP-2718 type of a transaction or receipt encoding: its first byte when below 0x80, else 0 (legacy). */
function typeOf(encoding: Uint8Array): number {
  const first = encoding[0] ?? 0xc0;
  return first < 0x80 ? first : 0;
}

/** The list after the type byte of a typed item, or the whole item when it is legacy. */
function payloadList(encoding: Uint8Array, type: number, what: string): RlpItem[] | null {
  const item = rlpDecode(type === 0 ? encoding : encoding.subarray(1), what);
  return Array.isArray(item) ? item : null;
}

/**
 * The chain id a transaction was signed for: the first field of EIP-2930/1559/4844/7702 transactions,
 * `(v − 35) / 2` of an EIP-155 legacy transaction; `null` when the transaction does not state one.
 */
function transactionChainId(tx: Uint8Array, type: number): bigint | null {
  if (type >= 1 && type <= 4) {
    const fields = payloadList(tx, type, "transaction");
    return fields?.[0] === undefined ? null : rlpUint(fields[0], 32);
  }
  if (type !== 0) return null;
  const fields = payloadList(tx, 0, "transaction");
  const v = fields?.length === 9 ? rlpUint(fields[6]!, 32) : null;
  return v !== null && v >= 35n ? (v - 35n) / 2n : null;
}

/** The logs of a receipt, after checking its type (0 to 4, the same as its transaction's), shape and status. */
function receiptLogs(receipt: Uint8Array, txType: number): RlpItem[] {
  const type = typeOf(receipt);
  const bad = (reason: string) => new EvidenceError("RECEIPT_INVALID", `the receipt is invalid: ${reason}`, { facts: { reason, type } });
  if (type > 4) throw bad("unknown receipt type");
  if (type !== txType) throw bad("the receipt's type is not its transaction's");
  const fields = payloadList(receipt, type, "receipt");
  if (fields?.length !== 4) throw bad("not a list of [status, cumulativeGasUsed, logsBloom, logs]");
  const [status, gas, bloom, logs] = fields as [RlpItem, RlpItem, RlpItem, RlpItem];
  if (rlpUint(gas) === null) throw bad("cumulativeGasUsed is not a canonical u64");
  if (!(bloom instanceof Uint8Array) || bloom.length !== 256) throw bad("logsBloom is not 256 bytes");
  if (!Array.isArray(logs)) throw bad("logs is not a list");
  if (status instanceof Uint8Array && status.length === 32) throw bad("a pre-Byzantium receipt has no status");
  const s = rlpUint(status, 1);
  if (s === 0n) throw new EvidenceError("RECEIPT_FAILED", "the transaction failed (receipt status 0)", { facts: { status: 0 } });
  if (s !== 1n) throw bad("status is neither 0 nor 1");
  return logs;
}

/** Checks that `log` is a well-formed `MessageSent` from `outbox` and returns its `body`. */
function messageSentBody(log: RlpItem, outbox: Uint8Array, logIndex: number): Uint8Array {
  const bad = (field: string, reason: string) =>
    new EvidenceError("LOG_MISMATCH", `log ${logIndex} is not a MessageSent event from the outbox: ${reason}`, {
      facts: { logIndex, field },
    });
  if (!Array.isArray(log) || log.length !== 3) throw bad("log", "not a list of [address, topics, data]");
  const [address, topics, data] = log as [RlpItem, RlpItem, RlpItem];
  if (!(address instanceof Uint8Array) || !bytesEqual(address, outbox)) throw bad("address", "emitted by another address");
  if (!Array.isArray(topics) || topics.length !== 3 || topics.some((t) => !(t instanceof Uint8Array) || t.length !== 32)) {
    throw bad("topics", "not three 32-byte topics");
  }
  const [topic0, destination, nonce] = topics as [Uint8Array, Uint8Array, Uint8Array];
  if (!bytesEqual(topic0, MESSAGE_SENT_TOPIC)) throw bad("topics[0]", "another event signature");
  if (!(data instanceof Uint8Array)) throw bad("data", "not a byte string");
  const body = abiDecodeBytes(data);
  if (!body) throw bad("data", "not the ABI encoding of one bytes value");
  // The indexed topics must repeat the body's destination chain id (bytes 9..17) and nonce (17..25).
  if (body.length < 25) throw bad("data", "body too short for a message");
  if (!bytesEqual(destination, uint64Word(body.subarray(9, 17)))) throw bad("topics[1]", "destination chain id differs from the body's");
  if (!bytesEqual(nonce, uint64Word(body.subarray(17, 25)))) throw bad("topics[2]", "nonce differs from the body's");
  return body;
}

function uint64Word(be8: Uint8Array): Uint8Array {
  const w = new Uint8Array(32);
  w.set(be8, 24);
  return w;
}

/** `abi.decode(data, (bytes))`, accepting only the canonical encoding: offset 32, length, zero-padded bytes. */
function abiDecodeBytes(data: Uint8Array): Uint8Array | null {
  if (data.length < 64 || data.length % 32 !== 0) return null;
  const word = (i: number) => data.subarray(32 * i, 32 * i + 32);
  const small = (w: Uint8Array): number | null =>
    w.subarray(0, 28).every((b) => b === 0) ? new DataView(w.buffer, w.byteOffset + 28, 4).getUint32(0) : null;
  if (small(word(0)) !== 32) return null;
  const len = small(word(1));
  if (len === null || data.length !== 64 + Math.ceil(len / 32) * 32) return null;
  if (!data.subarray(64 + len).every((b) => b === 0)) return null;
  return data.subarray(64, 64 + len);
}
