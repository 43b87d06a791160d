/**
 * A JSON-RPC client for FISCO BCOS 3.x nodes (HTTP, port 20200 by default): every call starts with
 * `[group, node, …]`. Answers are parsed at the edge into the codec types of `@shandu/proofs`, so what a
 * node says can be re-hashed and checked rather than believed. JSON shapes follow the node's RPC as the
 * official java-sdk models it (`org/fisco/bcos/sdk/v3/client/protocol/response/BcosBlockHeader.java`,
 * `org/fisco/bcos/sdk/v3/model/TransactionReceipt.java`).
 *
 * Merkle proofs come in two shapes: the node's flat list (count markers and hashes, `Merkle.h`) and the
 * java-sdk's `{left, right}` units (`MerkleProofUnit.java`). Both are accepted and turned into the flat
 * form the `"fisco-receipt"` evidence carries, with the leaf hash filled in level by level.
 *
 * Errors: transport failures are `AdapterError` `RPC_UNAVAILABLE` / `RPC_TIMEOUT` (retry); an error
 * object or a malformed result is `FiscoError` `RPC_ERROR` with the node's code and message.
 */
import { AdapterError } from "@shandu/adapter-core";
import { type CryptoSuite, concatBytes, FiscoError, type FiscoHeader, type FiscoReceiptData, fromHex, suiteHash } from "@shandu/proofs";

export interface FiscoRpcOptions {
  /** `http(s)://host:20200` */
  url: string;
  group: string;
  /** Node name within the group; "" lets the RPC service choose. */
  node?: string;
  timeoutMs?: number;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const bad = (what: string, facts: Record<string, string | number> = {}) => new FiscoError("RPC_ERROR", `FISCO RPC: ${what}`, { facts });

function obj(v: Json | undefined, what: string): Record<string, Json> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw bad(`${what} is not an object`);
  return v;
}

function hexBytes(v: Json | undefined, what: string, len?: number): Uint8Array {
  if (typeof v !== "string") throw bad(`${what} is not hex`, { field: what });
  const h = v.startsWith("0x") || v.startsWith("0X") ? v.slice(2) : v;
  try {
    return fromHex(`0x${h}`, len, what);
  } catch {
    throw bad(`${what} is not ${len ? `${len} bytes of ` : ""}hex`, { field: what });
  }
}

/** A number as JSON number, decimal string or 0x hex string. */
function integer(v: Json | undefined, what: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) return BigInt(v);
  throw bad(`${what} is not an integer`, { field: what });
}

const str = (v: Json | undefined, what: string): string => {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw bad(`${what} is not a string`, { field: what });
  return v;
};

const list = (v: Json | undefined, what: string): Json[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`${what} is not a list`, { field: what });
  return v;
};

/** The node's header JSON as the codec's header (so its hash and seals can be checked). */
export function headerFromJson(v: Json): FiscoHeader {
  const h = obj(v, "header");
  return {
    data: {
      version: Number(integer(h.version ?? 0, "version")),
      parents: list(h.parentInfo, "parentInfo").map((p, i) => {
        const o = obj(p, `parentInfo[${i}]`);
        return {
          blockNumber: integer(o.blockNumber, `parentInfo[${i}].blockNumber`),
          blockHash: hexBytes(o.blockHash, `parentInfo[${i}].blockHash`, 32),
        };
      }),
      txsRoot: hexBytes(h.txsRoot, "txsRoot", 32),
      receiptRoot: hexBytes(h.receiptsRoot, "receiptsRoot", 32),
      stateRoot: hexBytes(h.stateRoot, "stateRoot", 32),
      blockNumber: integer(h.number, "number"),
      gasUsed: str(h.gasUsed, "gasUsed"),
      timestamp: integer(h.timestamp, "timestamp"),
      sealer: integer(h.sealer ?? 0, "sealer"),
      sealerList: list(h.sealerList, "sealerList").map((s, i) => hexBytes(s, `sealerList[${i}]`, 64)),
      extraData: h.extraData ? hexBytes(h.extraData, "extraData") : new Uint8Array(0),
      consensusWeights: list(h.consensusWeights, "consensusWeights").map((w, i) => integer(w, `consensusWeights[${i}]`)),
    },
    dataHash: h.hash ? hexBytes(h.hash, "hash", 32) : new Uint8Array(0),
    signatures: list(h.signatureList, "signatureList").map((s, i) => {
      const o = obj(s, `signatureList[${i}]`);
      return {
        sealerIndex: integer(o.sealerIndex, `signatureList[${i}].sealerIndex`),
        signature: hexBytes(o.signature, `signatureList[${i}].signature`),
      };
    }),
  };
}

export interface RpcReceipt {
  data: FiscoReceiptData;
  /** What the node says the receipt hash is (to be re-computed, not trusted). */
  hash: Uint8Array;
  transactionHash: Uint8Array;
  /** Proofs as the node sent them, unconverted (see {@link flatProof}). */
  receiptProof: Json[];
  transactionProof: Json[];
}

export function receiptFromJson(v: Json): RpcReceipt {
  const r = obj(v, "receipt");
  return {
    data: {
      version: Number(integer(r.version ?? 0, "version")),
      gasUsed: str(r.gasUsed, "gasUsed"),
      contractAddress: str(r.contractAddress, "contractAddress"),
      status: Number(integer(r.status ?? 0, "status")),
      output: r.output ? hexBytes(r.output, "output") : new Uint8Array(0),
      logs: list(r.logEntries, "logEntries").map((l, i) => {
        const o = obj(l, `logEntries[${i}]`);
        return {
          address: str(o.address, `logEntries[${i}].address`),
          topics: list(o.topics, `logEntries[${i}].topics`).map((t, j) => hexBytes(t, `logEntries[${i}].topics[${j}]`, 32)),
          data: o.data ? hexBytes(o.data, `logEntries[${i}].data`) : new Uint8Array(0),
        };
      }),
      blockNumber: integer(r.blockNumber, "blockNumber"),
      effectiveGasPrice: str(r.effectiveGasPrice, "effectiveGasPrice"),
    },
    hash: hexBytes(r.hash, "hash", 32),
    transactionHash: hexBytes(r.transactionHash, "transactionHash", 32),
    receiptProof: list(r.receiptProof, "receiptProof"),
    transactionProof: list(r.transactionProof, "transactionProof"),
  };
}

const countMarker = (n: number) => Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/**
 * A proof in the node's flat form, from either wire shape. For `{left, right}` units each level's group
 * is `left ‖ current ‖ right`, where `current` starts at `leaf` and becomes the group's hash.
 */
export function flatProof(proof: readonly Json[], leaf: Uint8Array, suite: CryptoSuite): Uint8Array[] {
  if (proof.every((p) => typeof p === "string")) return proof.map((p, i) => hexBytes(p, `proof[${i}]`));
  const out: Uint8Array[] = [];
  let current = leaf;
  proof.forEach((u, i) => {
    const o = obj(u, `proof[${i}]`);
    const left = list(o.left, `proof[${i}].left`).map((x, j) => hexBytes(x, `proof[${i}].left[${j}]`, 32));
    const right = list(o.right, `proof[${i}].right`).map((x, j) => hexBytes(x, `proof[${i}].right[${j}]`, 32));
    const group = [...left, current, ...right];
    out.push(countMarker(group.length), ...group);
    current = suiteHash(suite, concatBytes(...group));
  });
  return out;
}

export class FiscoRpcClient {
  readonly #o: Required<FiscoRpcOptions>;
  #id = 0;

  constructor(o: FiscoRpcOptions) {
    this.#o = { node: "", timeoutMs: 10_000, ...o };
  }

  async request(method: string, params: Json[] = [], signal?: AbortSignal): Promise<Json> {
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    const body = JSON.stringify({ jsonrpc: "2.0", id: ++this.#id, method, params: [this.#o.group, this.#o.node, ...params] });
    let res: Response;
    try {
      res = await fetch(this.#o.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (cause) {
      if (timeout.aborted) {
        throw new AdapterError("RPC_TIMEOUT", `FISCO node did not answer ${method} in time`, {
          cause,
          facts: { url: this.#o.url, timeoutMs: this.#o.timeoutMs },
        });
      }
      if (signal?.aborted) throw new AdapterError("CANCELLED", `${method} cancelled`, { cause });
      throw new AdapterError("RPC_UNAVAILABLE", `FISCO node unreachable for ${method}: is it running at ${this.#o.url}?`, {
        cause,
        facts: { url: this.#o.url },
      });
    }
    let json: Json;
    try {
      json = (await res.json()) as Json;
    } catch (cause) {
      throw new AdapterError("RPC_UNAVAILABLE", `FISCO node answered ${method} with HTTP ${res.status} and no JSON`, {
        cause,
        facts: { url: this.#o.url, status: res.status },
      });
    }
    const o = obj(json, "response");
    if (o.error !== undefined && o.error !== null) {
      const e = obj(o.error, "error");
      throw new FiscoError("RPC_ERROR", `FISCO node refused ${method}: ${str(e.message, "error.message")}`, {
        facts: { method, code: typeof e.code === "number" ? e.code : String(e.code) },
      });
    }
    if (!("result" in o)) throw bad(`${method} answered without a result`, { method });
    return o.result as Json;
  }

  async getBlockNumber(signal?: AbortSignal): Promise<bigint> {
    return integer(await this.request("getBlockNumber", [], signal), "blockNumber");
  }

  /** The header of block `number` (`getBlockByNumber` with onlyHeader). */
  async getBlockHeader(number: bigint, signal?: AbortSignal): Promise<FiscoHeader> {
    return headerFromJson(await this.request("getBlockByNumber", [Number(number), true, false], signal));
  }

  /** Header and transaction hashes of block `number` (`getBlockByNumber` with onlyTxHash). */
  async getBlockWithTxHashes(number: bigint, signal?: AbortSignal): Promise<{ header: FiscoHeader; txHashes: Uint8Array[] }> {
    const b = await this.request("getBlockByNumber", [Number(number), false, true], signal);
    const txs = list(obj(b, "block").transactions, "transactions").map((t, i) => {
      // Some versions answer objects even with onlyTxHash; take their hash.
      const h = typeof t === "string" ? t : obj(t, `transactions[${i}]`).hash;
      return hexBytes(h, `transactions[${i}]`, 32);
    });
    return { header: headerFromJson(b), txHashes: txs };
  }

  async getTransactionReceipt(hash: Uint8Array, requireProof: boolean, signal?: AbortSignal): Promise<RpcReceipt | null> {
    const r = await this.request("getTransactionReceipt", [`0x${Buffer.from(hash).toString("hex")}`, requireProof], signal);
    return r === null ? null : receiptFromJson(r);
  }

  /** Sends a signed TARS transaction; resolves with the node's receipt. */
  async sendTransaction(tx: Uint8Array, signal?: AbortSignal): Promise<RpcReceipt> {
    return receiptFromJson(await this.request("sendTransaction", [`0x${Buffer.from(tx).toString("hex")}`, false], signal));
  }
}
