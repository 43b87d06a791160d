/**
 * Building the EVM evidence kinds from a node's JSON-RPC answers: `"evm-receipt"` source evidence
 * (docs/protocol.md §8.4.1) for an outbox's `MessageSent` log and `"evm-delivery"` destination evidence
 * (§8.4.2) for an inbox's `BatchDelivered` log. Both carry the block header, the transaction and its
 * receipt, with Merkle-Patricia proofs under the header's `transactionsRoot` and `receiptsRoot`; that
 * part is built once here (`inclusionProof`).
 *
 * No common RPC method returns trie proofs for transactions or receipts, so the builder fetches the
 * whole block's transactions and receipts, rebuilds both tries (`@shandu/proofs` `indexedTrie`) and
 * proves the one position. Raw consensus bytes are used where the node offers them:
 *
 * | what | preferred | fallback |
 * |---|---|---|
 * | header and transactions | `debug_getRawBlock` (geth, reth, erigon) | header re-encoded from `eth_getBlockByHash` fields; each transaction from `eth_getRawTransactionByHash` |
 * | receipts | `debug_getRawReceipts` | re-encoded from `eth_getBlockReceipts` |
 *
 * anvil (foundry 1.7) has neither debug method, so against it the fallbacks are used.
 *
 * Trust: the node is not trusted for the result. Everything re-encoded is checked against what it must
 * hash to — the header against the block hash, each raw transaction against its hash, both rebuilt tries
 * against the header's roots — so the evidence either verifies or is not returned. Whether the block is
 * canonical and final is the caller's concern (see `sourceEvidence`; destination evidence is built for
 * whatever block the node has the delivery in).
 */
import { AdapterError } from "@shandu/adapter-core";
import {
  BATCH_DELIVERED_TOPIC,
  bytesEqual,
  type Evidence,
  EvidenceError,
  type EvmInclusionProof,
  evmDeliveryEvidence,
  evmReceiptEvidence,
  fromHex,
  indexedTrie,
  indexKey,
  MESSAGE_SENT_TOPIC,
  type RlpItem,
  rlpDecode,
  rlpEncode,
  toHex,
  uintBytes,
} from "@shandu/proofs";
import type { JsonRpcProvider } from "ethers";
import { keccak256 } from "ethers";

export interface ReceiptEvidenceRequest {
  /** Hash of the transaction that emitted the message (`0x` hex, 32 bytes). */
  txHash: string;
  /** Index of the `MessageSent` log among the logs of the transaction's receipt (not the block-wide index). */
  logIndexInReceipt: number;
  /** Address of the outbox contract (`0x` hex). */
  outbox: string;
  /** Abandons the work between requests (`CANCELLED`). */
  signal?: AbortSignal;
}

export interface DeliveryEvidenceRequest {
  /** Hash of the transaction that delivered the batch (`0x` hex, 32 bytes). */
  txHash: string;
  /** Block-wide index of the `BatchDelivered` log, as `eth_getLogs` reports it; the evidence records its index in the receipt. */
  blockLogIndex: number;
  /** Address of the inbox contract (`0x` hex). */
  inbox: string;
  /** Abandons the work between requests (`CANCELLED`). */
  signal?: AbortSignal;
}

type Json = Record<string, unknown>;

/** Header fields in consensus order; the optional tail appeared fork by fork (London … Prague). */
const HEADER_FIELDS: readonly [name: string, kind: "data" | "quantity"][] = [
  ["parentHash", "data"],
  ["sha3Uncles", "data"],
  ["miner", "data"],
  ["stateRoot", "data"],
  ["transactionsRoot", "data"],
  ["receiptsRoot", "data"],
  ["logsBloom", "data"],
  ["difficulty", "quantity"],
  ["number", "quantity"],
  ["gasLimit", "quantity"],
  ["gasUsed", "quantity"],
  ["timestamp", "quantity"],
  ["extraData", "data"],
  ["mixHash", "data"],
  ["nonce", "data"],
];
const HEADER_OPTIONAL_FIELDS: readonly [name: string, kind: "data" | "quantity"][] = [
  ["baseFeePerGas", "quantity"], // London (EIP-1559)
  ["withdrawalsRoot", "data"], // Shanghai (EIP-4895)
  ["blobGasUsed", "quantity"], // Cancun (EIP-4844)
  ["excessBlobGas", "quantity"], // Cancun (EIP-4844)
  ["parentBeaconBlockRoot", "data"], // Cancun (EIP-4788)
  ["requestsHash", "data"], // Prague (EIP-7685)
];

/** Providers known to lack a debug method, so it is asked for once per provider only. */
const missingMethods = new WeakMap<JsonRpcProvider, Set<string>>();

/**
 * Builds the evidence that the outbox emitted the log at `logIndexInReceipt` of transaction `txHash`.
 *
 * Throws `AdapterError` `MESSAGE_NOT_FOUND` when the node has no receipt for the transaction, or the log
 * is missing, not from `outbox`, or not a `MessageSent`; `CANCELLED` when `signal` aborts; and
 * `EvidenceError` when what the node returned does not hash to its own header (`HEADER_HASH_MISMATCH`
 * for the header, `TX_HASH_MISMATCH` for a raw transaction, `TRIE_VALUE_MISMATCH` with `facts.trie` when
 * the rebuilt transactions or receipts trie does not have the header's root — for example a transaction
 * or receipt type this builder cannot re-encode). Transport errors of the provider pass through unchanged.
 */
export async function buildReceiptEvidence(provider: JsonRpcProvider, req: ReceiptEvidenceRequest): Promise<Evidence> {
  const notFound = (why: string) =>
    new AdapterError("MESSAGE_NOT_FOUND", `no outbox message at that position: ${why}`, {
      facts: { txHash: req.txHash, logIndex: req.logIndexInReceipt },
    });
  const inclusion = await inclusionProof(provider, req.txHash, req.signal, notFound, (logs) => {
    const log = logs[req.logIndexInReceipt];
    if (!log) throw notFound("the receipt has no log at that index");
    if (String(log.address).toLowerCase() !== req.outbox.toLowerCase()) throw notFound("the log is not from the outbox");
    if (topic0(log) !== toHex(MESSAGE_SENT_TOPIC)) throw notFound("the log is not a MessageSent");
  });
  return evmReceiptEvidence({ ...inclusion, outbox: fromHex(req.outbox, 20, "outbox") });
}

/**
 * Builds the evidence that the inbox emitted the `BatchDelivered` log with block-wide index
 * `blockLogIndex` in transaction `txHash`. It does not look at the log's outcomes: whether the delivery
 * executed a given nonce is for the verifier to check against a bundle.
 *
 * Throws `AdapterError` `MESSAGE_NOT_FOUND` when the node has no receipt for the transaction, or the
 * receipt has no such log, or it is not a `BatchDelivered` from `inbox`; otherwise as
 * {@link buildReceiptEvidence}.
 */
export async function buildDeliveryEvidence(provider: JsonRpcProvider, req: DeliveryEvidenceRequest): Promise<Evidence> {
  const notFound = (why: string) =>
    new AdapterError("MESSAGE_NOT_FOUND", `no inbox delivery at that position: ${why}`, {
      facts: { txHash: req.txHash, blockLogIndex: req.blockLogIndex },
    });
  let logIndex = -1;
  const inclusion = await inclusionProof(provider, req.txHash, req.signal, notFound, (logs) => {
    logIndex = logs.findIndex((l) => Number(BigInt(String(l.logIndex))) === req.blockLogIndex);
    const log = logs[logIndex];
    if (!log) throw notFound("the receipt has no log with that index");
    if (String(log.address).toLowerCase() !== req.inbox.toLowerCase()) throw notFound("the log is not from the inbox");
    if (topic0(log) !== toHex(BATCH_DELIVERED_TOPIC)) throw notFound("the log is not a BatchDelivered");
  });
  return evmDeliveryEvidence({ ...inclusion, logIndex, inbox: fromHex(req.inbox, 20, "inbox") });
}

function topic0(log: Json): string {
  return String((log.topics as string[] | undefined)?.[0]).toLowerCase();
}

/**
 * The transaction `txHash` and its receipt proven in their block: fetches the receipt, lets `checkLogs`
 * refuse it by its logs (before anything else is fetched), then fetches the block, rebuilds both tries
 * and checks them against the header's roots (see the module comment).
 */
async function inclusionProof(
  provider: JsonRpcProvider,
  txHash: string,
  signal: AbortSignal | undefined,
  notFound: (why: string) => AdapterError,
  checkLogs: (logs: Json[]) => void,
): Promise<EvmInclusionProof> {
  const send = async <T>(method: string, params: unknown[]): Promise<T> => {
    if (signal?.aborted) throw new AdapterError("CANCELLED", `${method}: cancelled`, { cause: signal.reason });
    return (await provider.send(method, params)) as T;
  };
  const receipt = await send<Json | null>("eth_getTransactionReceipt", [txHash]);
  if (!receipt) throw notFound("the node has no receipt for the transaction");
  checkLogs((receipt.logs as Json[] | undefined) ?? []);
  const blockHash = String(receipt.blockHash);
  const transactionIndex = Number(BigInt(String(receipt.transactionIndex)));

  const block = await send<Json | null>("eth_getBlockByHash", [blockHash, false]);
  if (!block) throw notFound("the node no longer has the transaction's block");
  const txHashes = (block.transactions as string[]).map((h) => String(h));
  if (txHashes[transactionIndex]?.toLowerCase() !== txHash.toLowerCase()) {
    throw notFound("the transaction is not at its receipt's position in the block (reorganised?)");
  }
  const [{ header, transactions }, receipts, chainId] = await Promise.all([
    headerAndTransactions(send, provider, block, txHashes),
    blockReceipts(send, provider, blockHash, txHashes.length),
    send<string>("eth_chainId", []),
  ]);

  const headerFields = rlpDecode(header, "block header") as Uint8Array[];
  const txTrie = indexedTrie(transactions);
  const receiptTrie = indexedTrie(receipts);
  for (const [trie, built, index] of [
    ["transactions", txTrie.root, 4],
    ["receipts", receiptTrie.root, 5],
  ] as const) {
    const expected = headerFields[index]!;
    if (!bytesEqual(built, expected)) {
      throw new EvidenceError("TRIE_VALUE_MISMATCH", `the node's ${trie} do not rebuild the ${trie} root of its own header`, {
        facts: { trie, blockHash, built: toHex(built), header: toHex(expected), source: "node" },
      });
    }
  }
  const key = indexKey(transactionIndex);
  return {
    chainId: BigInt(chainId),
    blockHash: fromHex(blockHash, 32, "blockHash"),
    header,
    transactionIndex,
    transaction: transactions[transactionIndex]!,
    transactionProof: txTrie.prove(key),
    receipt: receipts[transactionIndex]!,
    receiptProof: receiptTrie.prove(key),
  };
}

type Send = <T>(method: string, params: unknown[]) => Promise<T>;

/** Calls `method`, or returns `undefined` when the node does not have it (remembered per provider). */
async function optional<T>(send: Send, provider: JsonRpcProvider, method: string, params: unknown[]): Promise<T | undefined> {
  if (missingMethods.get(provider)?.has(method)) return undefined;
  try {
    return await send<T>(method, params);
  } catch (err) {
    if (!isMethodNotFound(err)) throw err;
    const set = missingMethods.get(provider) ?? new Set<string>();
    set.add(method);
    missingMethods.set(provider, set);
    return undefined;
  }
}

/** JSON-RPC -32601, or the text nodes use for it. */
function isMethodNotFound(err: unknown): boolean {
  const e = err as { error?: { code?: number; message?: string }; info?: { error?: { code?: number; message?: string } } } | null;
  const inner = e?.error ?? e?.info?.error;
  if (inner?.code === -32601) return true;
  const text = `${inner?.message ?? ""} ${err instanceof Error ? err.message : ""}`.toLowerCase();
  return /method not found|does not exist|not supported|unsupported method|not available/.test(text);
}

async function headerAndTransactions(
  send: Send,
  provider: JsonRpcProvider,
  block: Json,
  txHashes: string[],
): Promise<{ header: Uint8Array; transactions: Uint8Array[] }> {
  const blockHash = String(block.hash);
  const raw = await optional<string>(send, provider, "debug_getRawBlock", [blockHash]);
  let header: Uint8Array;
  let transactions: Uint8Array[];
  if (raw !== undefined) {
    const [h, txs] = rlpDecode(fromHex(raw), "block") as [RlpItem, RlpItem[]];
    header = rlpEncode(h);
    // In a block body a typed transaction is an RLP string holding type ‖ payload, a legacy one a list.
    transactions = txs.map((t) => (Array.isArray(t) ? rlpEncode(t) : t));
  } else {
    header = headerFromJson(block);
    transactions = await Promise.all(txHashes.map((h) => send<string>("eth_getRawTransactionByHash", [h]).then((t) => fromHex(t))));
  }
  const headerHash = keccak256(header);
  if (headerHash !== blockHash.toLowerCase()) {
    throw new EvidenceError("HEADER_HASH_MISMATCH", "the header rebuilt from the node's block does not hash to its block hash", {
      facts: { blockHash, headerHash, source: "node" },
    });
  }
  if (transactions.length !== txHashes.length) {
    throw new EvidenceError("TRIE_VALUE_MISMATCH", "the node's raw block and its block JSON hold different numbers of transactions", {
      facts: { trie: "transactions", blockHash, raw: transactions.length, json: txHashes.length, source: "node" },
    });
  }
  transactions.forEach((t, i) => {
    const hash = keccak256(t);
    if (hash !== txHashes[i]!.toLowerCase()) {
      throw new EvidenceError("TX_HASH_MISMATCH", "a raw transaction from the node does not hash to its hash", {
        facts: { index: i, expected: txHashes[i], computed: hash, source: "node" },
      });
    }
  });
  return { header, transactions };
}

/** The header's RLP from `eth_getBlockBy*` fields: the 15 base fields, then each later fork's fields that are present. */
function headerFromJson(block: Json): Uint8Array {
  const item = ([name, kind]: readonly [string, "data" | "quantity"]): Uint8Array => {
    const v = block[name];
    if (typeof v !== "string") {
      throw new EvidenceError("HEADER_INVALID", `the node's block has no ${name}`, { facts: { field: name, source: "node" } });
    }
    return kind === "quantity" ? uintBytes(BigInt(v)) : fromHex(v, undefined, name);
  };
  const fields = HEADER_FIELDS.map(item);
  for (const f of HEADER_OPTIONAL_FIELDS) {
    if (block[f[0]] === undefined || block[f[0]] === null) break;
    fields.push(item(f));
  }
  return rlpEncode(fields);
}

async function blockReceipts(send: Send, provider: JsonRpcProvider, blockHash: string, count: number): Promise<Uint8Array[]> {
  const raw = await optional<string[]>(send, provider, "debug_getRawReceipts", [blockHash]);
  if (raw !== undefined) return raw.map((r) => fromHex(r));
  const receipts = await send<Json[] | null>("eth_getBlockReceipts", [blockHash]);
  if (!receipts || receipts.length !== count) {
    throw new EvidenceError("TRIE_VALUE_MISMATCH", "the node returned another number of receipts than the block has transactions", {
      facts: { trie: "receipts", blockHash, receipts: receipts?.length ?? 0, transactions: count, source: "node" },
    });
  }
  return [...receipts].sort((a, b) => Number(BigInt(String(a.transactionIndex)) - BigInt(String(b.transactionIndex)))).map(receiptFromJson);
}

/** A receipt's consensus encoding (EIP-2718 / Yellow Paper §4.4.1) from its JSON-RPC form. */
function receiptFromJson(r: Json): Uint8Array {
  const type = r.type === undefined || r.type === null ? 0 : Number(BigInt(String(r.type)));
  // Byzantium on: status 0 or 1; before: the 32-byte post-transaction state root.
  const outcome = r.status !== undefined && r.status !== null ? uintBytes(BigInt(String(r.status))) : fromHex(String(r.root), 32, "root");
  const logs = (r.logs as Json[]).map(
    (l): RlpItem => [
      fromHex(String(l.address), 20, "address"),
      (l.topics as string[]).map((t) => fromHex(t, 32, "topic")),
      fromHex(String(l.data)),
    ],
  );
  const list = rlpEncode([outcome, uintBytes(BigInt(String(r.cumulativeGasUsed))), fromHex(String(r.logsBloom), 256, "logsBloom"), logs]);
  if (type === 0) return list;
  const out = new Uint8Array(1 + list.length);
  out[0] = type;
  out.set(list, 1);
  return out;
}
