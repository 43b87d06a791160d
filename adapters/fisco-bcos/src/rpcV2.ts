/**
 * A JSON-RPC client for FISCO BCOS 2.x nodes: JSON-RPC 2.0 over HTTP (`[rpc] jsonrpc_listen_port`, 8545
 * by default), every call starting with the numeric `groupId` (FISCO-BCOS-DOC release-2 `docs/api.md`;
 * the node's `librpc/Rpc.cpp`). Block numbers travel as 0x hex strings. Answers are parsed at the edge;
 * proofs are checked against a root the caller trusts with {@link verifyV2ReceiptProof} /
 * {@link verifyV2TransactionProof}, which recompute the root as the node builds it (`merkleV2.ts` in
 * `@shandu/proofs` cites the node's code), so a node's answer is checked, not believed.
 *
 * Shapes (`Rpc.cpp`, `parseReceiptIntoResponse`; `docs/api.md`): a receipt carries `root`, `gasUsed`,
 * `contractAddress`, `logsBloom`, `status` (hex: "0x0" success, "0x16" `RevertInstruction`), `output`,
 * `logs` `[{address, topics, data}]`, `transactionIndex`, and from 2.8/2.9 nodes `remainGas`;
 * `getTransactionReceiptByHashWithProof` answers `{transactionReceipt, receiptProof}` and
 * `getTransactionByHashWithProof` `{transaction, txProof}`, each proof a list of `{left, right}` (hex
 * without 0x); an unknown hash gives `null`. `sendRawTransaction [g, rlpHex]` answers the transaction hash;
 * the receipt is polled. `call [g, {from, to, value, data}]` answers `{currentBlockNumber, output, status}`.
 *
 * Errors: transport failures are `AdapterError` `RPC_UNAVAILABLE` / `RPC_TIMEOUT`; an error object or a
 * malformed result is `FiscoError` `RPC_ERROR` with the node's code (`facts.code`), as in `rpc.ts`; a
 * transaction the node refused is `FiscoTransactionError` `TX_REFUSED` with the node's code; a call with a
 * non-zero status is `FiscoTransactionError` `CALL_FAILED` with that status and the output.
 */

import { AdapterError } from "@shandu/adapter-core";
import {
  bytesEqual,
  type CryptoSuite,
  FiscoError,
  type FiscoV2ProofLevel,
  type FiscoV2Receipt,
  type FiscoV2ReceiptFormat,
  suiteHash,
  toHex,
  verifyFiscoV2ReceiptProof,
  verifyFiscoV2TransactionProof,
} from "@shandu/proofs";
import { asRefusal, callJsonRpc, hexBytes, integer, type Json, type JsonRpcEndpoint, list, obj, str } from "./json.ts";
import { agentFor } from "./rpc.ts";
import { FiscoTransactionError } from "./status.ts";

export interface FiscoV2RpcOptions {
  /** `http://host:8545` */
  url: string;
  /** The group, a number (1 on a default chain). */
  groupId: number;
  timeoutMs?: number;
  /** When given, the hash `sendRawTransaction` answers must be H(transaction) in this suite. */
  suite?: CryptoSuite;
}

export interface RpcV2Receipt extends FiscoV2Receipt {
  transactionHash: Uint8Array;
  blockHash: Uint8Array;
  blockNumber: bigint;
  /** 20 bytes; empty when the node wrote none. */
  from: Uint8Array;
  to: Uint8Array;
}

export interface RpcV2Transaction {
  hash: Uint8Array;
  blockHash: Uint8Array;
  blockNumber: bigint;
  transactionIndex: number;
  from: Uint8Array;
  to: Uint8Array;
  input: Uint8Array;
  value: bigint;
}

export interface RpcV2Block {
  number: bigint;
  hash: Uint8Array;
  parentHash: Uint8Array;
  transactionsRoot: Uint8Array;
  receiptsRoot: Uint8Array;
  stateRoot: Uint8Array;
  timestamp: bigint;
  sealerList: Uint8Array[];
  /** Hashes; when asked with `includeTransactions`, the transactions' own hashes. */
  transactionHashes: Uint8Array[];
}

const addr = (v: Json | undefined, what: string) => (v === undefined || v === null || v === "" ? new Uint8Array(0) : hexBytes(v, what));
const bytesOf = (v: Json | undefined, what: string) =>
  v === undefined || v === null || v === "" || v === "0x" ? new Uint8Array(0) : hexBytes(v, what);
const index = (v: Json | undefined, what: string) => {
  const i = integer(v, what);
  if (i > 0xffffffffn) throw new FiscoError("RPC_ERROR", `FISCO RPC: ${what} is out of range`, { facts: { field: what } });
  return Number(i);
};

export function receiptV2FromJson(v: Json): RpcV2Receipt {
  const r = obj(v, "receipt");
  return {
    transactionIndex: index(r.transactionIndex, "transactionIndex"),
    stateRoot: hexBytes(r.root, "root", 32),
    gasUsed: integer(r.gasUsed, "gasUsed"),
    contractAddress: hexBytes(r.contractAddress, "contractAddress", 20),
    logsBloom: hexBytes(r.logsBloom, "logsBloom", 256),
    status: integer(r.status, "status"),
    output: bytesOf(r.output, "output"),
    ...(r.remainGas !== undefined && r.remainGas !== null && { remainGas: integer(r.remainGas, "remainGas") }),
    logs: list(r.logs, "logs").map((l, i) => {
      const o = obj(l, `logs[${i}]`);
      return {
        address: hexBytes(o.address, `logs[${i}].address`, 20),
        topics: list(o.topics, `logs[${i}].topics`).map((t, j) => hexBytes(t, `logs[${i}].topics[${j}]`, 32)),
        data: bytesOf(o.data, `logs[${i}].data`),
      };
    }),
    transactionHash: hexBytes(r.transactionHash, "transactionHash", 32),
    blockHash: hexBytes(r.blockHash, "blockHash", 32),
    blockNumber: integer(r.blockNumber, "blockNumber"),
    from: addr(r.from, "from"),
    to: addr(r.to, "to"),
  };
}

export function transactionV2FromJson(v: Json): RpcV2Transaction {
  const t = obj(v, "transaction");
  return {
    hash: hexBytes(t.hash, "hash", 32),
    blockHash: hexBytes(t.blockHash, "blockHash", 32),
    blockNumber: integer(t.blockNumber, "blockNumber"),
    transactionIndex: index(t.transactionIndex, "transactionIndex"),
    from: addr(t.from, "from"),
    to: addr(t.to, "to"),
    input: bytesOf(t.input, "input"),
    value: integer(t.value ?? "0x0", "value"),
  };
}

export function blockV2FromJson(v: Json): RpcV2Block {
  const b = obj(v, "block");
  return {
    number: integer(b.number, "number"),
    hash: hexBytes(b.hash, "hash", 32),
    parentHash: hexBytes(b.parentHash, "parentHash", 32),
    transactionsRoot: hexBytes(b.transactionsRoot, "transactionsRoot", 32),
    receiptsRoot: hexBytes(b.receiptsRoot, "receiptsRoot", 32),
    stateRoot: hexBytes(b.stateRoot, "stateRoot", 32),
    timestamp: integer(b.timestamp, "timestamp"),
    sealerList: list(b.sealerList, "sealerList").map((s, i) => hexBytes(s, `sealerList[${i}]`, 64)),
    transactionHashes: list(b.transactions, "transactions").map((t, i) =>
      hexBytes(typeof t === "string" ? t : obj(t, `transactions[${i}]`).hash, `transactions[${i}]`, 32),
    ),
  };
}

/** A proof as the node writes it: `[{left: [hex], right: [hex]}]`. */
export function proofV2FromJson(v: Json | undefined, what: string): FiscoV2ProofLevel[] {
  return list(v, what).map((u, i) => {
    const o = obj(u, `${what}[${i}]`);
    return {
      left: list(o.left, `${what}[${i}].left`).map((x, j) => hexBytes(x, `${what}[${i}].left[${j}]`)),
      right: list(o.right, `${what}[${i}].right`).map((x, j) => hexBytes(x, `${what}[${i}].right[${j}]`)),
    };
  });
}

export interface RpcV2ReceiptWithProof {
  receipt: RpcV2Receipt;
  receiptProof: FiscoV2ProofLevel[];
}

export interface RpcV2TransactionWithProof {
  transaction: RpcV2Transaction;
  txProof: FiscoV2ProofLevel[];
}

/**
 * Checks a node's `getTransactionReceiptByHashWithProof` answer against `receiptsRoot` (from a header the
 * caller trusts): the receipt is re-encoded and hashed, and the proof must lead from its leaf to the root
 * at its `transactionIndex`. Returns the receipt encoding that matched (see `verifyFiscoV2ReceiptProof`).
 * Throws `FiscoError` `MERKLE_PROOF_INVALID`.
 */
export function verifyV2ReceiptProof(
  r: RpcV2ReceiptWithProof,
  receiptsRoot: Uint8Array,
  suite: CryptoSuite,
  format: FiscoV2ReceiptFormat = "auto",
): "v2.0" | "v2.8" {
  return verifyFiscoV2ReceiptProof(r.receipt, r.receiptProof, receiptsRoot, suite, format);
}

/** Checks a `getTransactionByHashWithProof` answer against `transactionsRoot`. Throws `MERKLE_PROOF_INVALID`. */
export function verifyV2TransactionProof(t: RpcV2TransactionWithProof, transactionsRoot: Uint8Array, suite: CryptoSuite): void {
  verifyFiscoV2TransactionProof(t.transaction.hash, t.transaction.transactionIndex, t.txProof, transactionsRoot, suite);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(new AdapterError("CANCELLED", "cancelled while waiting for a receipt"));
    });
  });

export class FiscoV2RpcClient {
  readonly #ep: JsonRpcEndpoint;
  readonly #groupId: number;
  readonly #suite: CryptoSuite | undefined;
  #id = 0;

  constructor(o: FiscoV2RpcOptions) {
    if (!Number.isSafeInteger(o.groupId) || o.groupId < 1) {
      throw new AdapterError("INVALID_CONFIG", "invalid adapter config at groupId: a 2.x group id is a positive integer", {
        facts: { path: "groupId" },
      });
    }
    this.#ep = { url: o.url, agent: agentFor(o.url, undefined), timeoutMs: o.timeoutMs ?? 10_000 };
    this.#groupId = o.groupId;
    this.#suite = o.suite;
  }

  /** `method` with `[groupId, …params]`. */
  request(method: string, params: Json[] = [], signal?: AbortSignal): Promise<Json> {
    return callJsonRpc(this.#ep, ++this.#id, method, [this.#groupId, ...params], signal);
  }

  async getBlockNumber(signal?: AbortSignal): Promise<bigint> {
    return integer(await this.request("getBlockNumber", [], signal), "blockNumber");
  }

  async getBlockByNumber(number: bigint, includeTransactions = false, signal?: AbortSignal): Promise<RpcV2Block> {
    return blockV2FromJson(await this.request("getBlockByNumber", [`0x${number.toString(16)}`, includeTransactions], signal));
  }

  /** The receipt of `hash`, or `null` when the node has none (yet). */
  async getTransactionReceipt(hash: Uint8Array, signal?: AbortSignal): Promise<RpcV2Receipt | null> {
    const r = await this.request("getTransactionReceipt", [toHex(hash)], signal);
    return r === null ? null : receiptV2FromJson(r);
  }

  async getTransactionByHash(hash: Uint8Array, signal?: AbortSignal): Promise<RpcV2Transaction | null> {
    const t = await this.request("getTransactionByHash", [toHex(hash)], signal);
    return t === null ? null : transactionV2FromJson(t);
  }

  /** The receipt with its proof (nodes from 2.2.0), or `null`. Check it with {@link verifyV2ReceiptProof}. */
  async getTransactionReceiptByHashWithProof(hash: Uint8Array, signal?: AbortSignal): Promise<RpcV2ReceiptWithProof | null> {
    const r = await this.request("getTransactionReceiptByHashWithProof", [toHex(hash)], signal);
    if (r === null) return null;
    const o = obj(r, "receiptWithProof");
    return { receipt: receiptV2FromJson(o.transactionReceipt ?? null), receiptProof: proofV2FromJson(o.receiptProof, "receiptProof") };
  }

  /** The transaction with its proof (nodes from 2.2.0), or `null`. Check it with {@link verifyV2TransactionProof}. */
  async getTransactionByHashWithProof(hash: Uint8Array, signal?: AbortSignal): Promise<RpcV2TransactionWithProof | null> {
    const t = await this.request("getTransactionByHashWithProof", [toHex(hash)], signal);
    if (t === null) return null;
    const o = obj(t, "transactionWithProof");
    return { transaction: transactionV2FromJson(o.transaction ?? null), txProof: proofV2FromJson(o.txProof, "txProof") };
  }

  /**
   * Sends a signed RLP transaction (see `transactionV2.ts`) and resolves with the hash the node answers
   * (checked against H(tx) when the client has a `suite`). Throws `FiscoTransactionError` `TX_REFUSED`
   * with the node's code when the node refuses it.
   */
  async sendRawTransaction(tx: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    let r: Json;
    try {
      r = await this.request("sendRawTransaction", [toHex(tx)], signal);
    } catch (e) {
      throw asRefusal(e);
    }
    const hash = hexBytes(r, "transactionHash", 32);
    if (this.#suite && !bytesEqual(hash, suiteHash(this.#suite, tx))) {
      throw new FiscoError("RPC_ERROR", "FISCO RPC: the node answered a hash that is not the transaction's", {
        facts: { answered: toHex(hash), expected: toHex(suiteHash(this.#suite, tx)) },
      });
    }
    return hash;
  }

  /**
   * {@link sendRawTransaction}, then polls `getTransactionReceipt` every `pollMs` (default 500) for up to
   * `waitMs` (default 30 000). The receipt is the node's claim, whatever its `status`; throws
   * `AdapterError` `RPC_TIMEOUT` when none came.
   */
  async sendRawTransactionAndWait(
    tx: Uint8Array,
    o: { pollMs?: number; waitMs?: number; signal?: AbortSignal } = {},
  ): Promise<RpcV2Receipt> {
    const hash = await this.sendRawTransaction(tx, o.signal);
    const deadline = Date.now() + (o.waitMs ?? 30_000);
    for (;;) {
      const r = await this.getTransactionReceipt(hash, o.signal);
      if (r) return r;
      if (Date.now() >= deadline) {
        throw new AdapterError("RPC_TIMEOUT", "no receipt for the transaction in time", { facts: { transactionHash: toHex(hash) } });
      }
      await sleep(o.pollMs ?? 500, o.signal);
    }
  }

  /**
   * Runs `data` against `to` without a transaction and returns the output. Throws
   * `FiscoTransactionError` `CALL_FAILED` with the status (0x16 for a revert) and the output.
   */
  async call(c: { from?: Uint8Array; to: Uint8Array; value?: bigint; data: Uint8Array }, signal?: AbortSignal): Promise<Uint8Array> {
    const req: Json = {
      from: toHex(c.from ?? new Uint8Array(20)),
      to: toHex(c.to),
      value: `0x${(c.value ?? 0n).toString(16)}`,
      data: toHex(c.data),
    };
    const r = obj(await this.request("call", [req], signal), "call");
    const status = Number(integer(r.status ?? "0x0", "status"));
    const output = bytesOf(r.output, "output");
    if (status !== 0) {
      throw new FiscoTransactionError("CALL_FAILED", "the call did not succeed", {
        status,
        output,
        facts: { to: toHex(c.to), output: toHex(output), blockNumber: str(r.currentBlockNumber, "currentBlockNumber") },
      });
    }
    return output;
  }
}
