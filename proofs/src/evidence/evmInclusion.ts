/**
 * What the EVM evidence kinds share (docs/protocol.md §8.4.1, §8.4.2): a transaction and its receipt,
 * each proven by a Merkle-Patricia proof (see `mpt.ts`) under the `transactionsRoot` and `receiptsRoot`
 * of a block header, at key `RLP(transactionIndex)`. {@link verifyEvmInclusion} establishes, with
 * keccak-256 and RLP only:
 *
 * ```
 * keccak256(header) == blockHash
 * proof(transactionsRoot, RLP(i)) == transaction
 * proof(receiptsRoot, RLP(i)) == receipt          receipt.status == 1
 * ```
 *
 * and returns the header's number, the transaction's hash and the receipt's logs, for the kind to read
 * its event from. Trust: this proves that the receipt is in *a* block whose header hashes to
 * `blockHash`, not that the block is canonical or final; the kinds say so in their pass details.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import type { Evidence } from "../bundle/bundle.ts";
import { bytesEqual, fromHex, toHex } from "../bytes.ts";
import { BundleError, EvidenceError } from "../errors.ts";
import { arr, hex, int, type Json, obj, u64 } from "../json.ts";
import { indexKey, verifyTrieProof } from "./mpt.ts";
import { type RlpItem, rlpDecode, rlpUint } from "./rlp.ts";

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

/** A transaction and its receipt proven in a block: the members every EVM evidence kind carries. */
export interface EvmInclusionProof {
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
}

/** The JSON members of `p` (hex strings, §1.4), in the documented order, after `kind`. */
export function evmInclusionToJson(p: EvmInclusionProof): Record<string, Json> {
  return {
    ...(p.chainId === undefined ? {} : { chainId: p.chainId.toString() }),
    blockHash: toHex(p.blockHash),
    header: toHex(p.header),
    transactionIndex: p.transactionIndex,
    transaction: toHex(p.transaction),
    transactionProof: p.transactionProof.map(toHex),
    receipt: toHex(p.receipt),
    receiptProof: p.receiptProof.map(toHex),
  };
}

/**
 * Reads evidence of `kind`: checks `kind`, reads the shared members, then the kind's own with `own`.
 * Checks only the shape (types, hex, lengths); throws {@link EvidenceError} `EVIDENCE_MALFORMED` with the
 * member's path in `facts.path`.
 */
export function parseEvmEvidence<T>(e: Evidence, kind: string, own: (o: Readonly<Record<string, unknown>>) => T): EvmInclusionProof & T {
  try {
    const o = obj(e, "evidence");
    if (o.kind !== kind) throw new BundleError("SCHEMA", `evidence.kind: expected "${kind}"`, { facts: { path: "evidence.kind" } });
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
      ...own(o),
    };
  } catch (cause) {
    if (!(cause instanceof BundleError)) throw cause;
    const path = String(cause.facts.path ?? "evidence");
    throw new EvidenceError("EVIDENCE_MALFORMED", `${kind} evidence is malformed: ${cause.shortMessage}`, { facts: { path }, cause });
  }
}

/** What a verified inclusion proof establishes. */
export interface ProvenReceipt {
  /** The block's number, from its header. */
  blockNumber: bigint;
  /** `keccak256(transaction)`. */
  txHash: Uint8Array;
  /** The logs of the successful receipt, each still an undecoded `[address, topics, data]` item. */
  logs: RlpItem[];
}

/** Values the caller expects, checked as soon as they are known (so that the first failing check names them). */
export interface InclusionExpectations {
  /** The block must have this number (`BLOCK_NUMBER_MISMATCH`). */
  blockNumber?: bigint;
  /** The transaction must have this hash (`TX_HASH_MISMATCH`). */
  txHash?: Uint8Array;
}

/**
 * Checks the shared part of EVM evidence, in this order: `HEADER_HASH_MISMATCH`, `RLP_INVALID` /
 * `HEADER_INVALID`, `BLOCK_NUMBER_MISMATCH` (with `expect.blockNumber`), `TRIE_PROOF_INVALID` /
 * `TRIE_VALUE_MISMATCH` for the transaction, `TX_HASH_MISMATCH` (with `expect.txHash`),
 * `CHAIN_ID_MISMATCH`, the same trie codes for the receipt, `RECEIPT_INVALID`, `RECEIPT_FAILED`. All
 * inputs are untrusted; every failure is an {@link EvidenceError}.
 */
export function verifyEvmInclusion(ev: EvmInclusionProof, expect: InclusionExpectations = {}): ProvenReceipt {
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
  const blockNumber = rlpUint(header[HEADER_NUMBER]!);
  if (blockNumber === null) {
    throw new EvidenceError("HEADER_INVALID", "the header's number is not a canonical u64", { facts: { field: "number" } });
  }
  if (expect.blockNumber !== undefined && blockNumber !== expect.blockNumber) {
    throw new EvidenceError("BLOCK_NUMBER_MISMATCH", "the block is not the message's source block", {
      facts: { header: blockNumber, message: expect.blockNumber },
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
  if (expect.txHash !== undefined && !bytesEqual(txHash, expect.txHash)) {
    throw new EvidenceError("TX_HASH_MISMATCH", "the proven transaction is not the message's source transaction", {
      facts: { proven: toHex(txHash), message: toHex(expect.txHash) },
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
  return { blockNumber, txHash, logs: receiptLogs(ev.receipt, txType) };
}

/** Splits a log item into its address, its 32-byte topics and its data; `null` when it is not `[20 bytes, [32 bytes…], bytes]`. */
export function logParts(log: RlpItem): { address: Uint8Array; topics: Uint8Array[]; data: Uint8Array } | null {
  if (!Array.isArray(log) || log.length !== 3) return null;
  const [address, topics, data] = log as [RlpItem, RlpItem, RlpItem];
  if (!(address instanceof Uint8Array) || address.length !== 20 || !(data instanceof Uint8Array)) return null;
  if (!Array.isArray(topics) || topics.some((t) => !(t instanceof Uint8Array) || t.length !== 32)) return null;
  return { address, topics: topics as Uint8Array[], data };
}

/** A `uint64` as an ABI word or indexed topic: big-endian, left-padded to 32 bytes. */
export function uint64Word(v: bigint): Uint8Array {
  const w = new Uint8Array(32);
  new DataView(w.buffer).setBigUint64(24, v);
  return w;
}

/**
 * The canonical ABI encoding of a dynamic `bytes` value whose head word at `headAt` holds its offset:
 * the offset must be `tailAt`, followed by the length, the bytes and zero padding to the end of `data`.
 * Returns the bytes, or `null` for anything else.
 */
export function abiBytesAt(data: Uint8Array, headAt: number, tailAt: number): Uint8Array | null {
  if (data.length < tailAt + 32 || data.length % 32 !== 0) return null;
  const small = (at: number): number | null =>
    data.subarray(at, at + 28).every((b) => b === 0) ? new DataView(data.buffer, data.byteOffset + at + 28, 4).getUint32(0) : null;
  if (small(headAt) !== tailAt) return null;
  const len = small(tailAt);
  const start = tailAt + 32;
  if (len === null || data.length !== start + Math.ceil(len / 32) * 32) return null;
  if (!data.subarray(start + len).every((b) => b === 0)) return null;
  return data.subarray(start, start + len);
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

/** Contract addresses pinned by Shandu chain id (decimal string); throws `CodecError` for one that is not 20-byte hex. */
export function pinnedAddresses(record: Readonly<Record<string, string>> | undefined, option: string): Map<string, Uint8Array> {
  const pinned = new Map<string, Uint8Array>();
  for (const [chain, address] of Object.entries(record ?? {})) pinned.set(chain, fromHex(address, 20, `${option}[${chain}]`));
  return pinned;
}

/**
 * Throws `code` when `chain` has a pinned address and the evidence names another one. `what` names the
 * contract ("outbox", "inbox") and `side` the chain ("source", "destination") in the message and facts.
 */
export function checkPinnedAddress(
  pinned: ReadonlyMap<string, Uint8Array>,
  chain: bigint,
  actual: Uint8Array,
  code: "OUTBOX_MISMATCH" | "INBOX_MISMATCH",
  what: string,
  side: "source" | "destination",
): void {
  const pin = pinned.get(chain.toString());
  if (pin && !bytesEqual(pin, actual)) {
    throw new EvidenceError(code, `the evidence names another ${what} than the one pinned for the ${side} chain`, {
      facts: { [`${side}ChainId`]: chain.toString(), pinned: toHex(pin), evidence: toHex(actual) },
    });
  }
}
