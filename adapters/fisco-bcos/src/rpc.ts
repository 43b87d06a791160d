/**
 * A JSON-RPC client for FISCO BCOS 3.x nodes (port 20200 by default): every call starts with
 * `[group, node, …]`. Answers are parsed at the edge into the codec types of `@shandu/proofs`, so what a
 * node says can be re-hashed and checked rather than believed. JSON shapes are those the node writes
 * (`bcos-rpc/bcos-rpc/jsonrpc/JsonRpcImpl_2_0.cpp`, the `toJsonResp` overloads) and the java-sdk models
 * (`org/fisco/bcos/sdk/v3/client/protocol/response/BcosBlockHeader.java`,
 * `org/fisco/bcos/sdk/v3/model/TransactionReceipt.java`).
 *
 * Merkle proofs. Since FISCO BCOS v3.2 (`JsonRpcImpl_2_0.cpp`, "fix get proof compatibility bug") a node
 * answers `getTransactionReceipt` with the receipt proof under `txReceiptProof` (and an empty
 * `receiptProof`), and carries the transaction proof only in `getTransaction`'s `txProof`; each is the
 * ledger's flat list (`bcos-crypto/bcos-crypto/merkle/Merkle.h`) written as 32-byte words in hex without
 * `0x`, the count markers being a big-endian count in the first 4 bytes of a zeroed word. Older nodes put
 * the same lists under `receiptProof` / `transactionProof`, and the java-sdk models those keys as
 * `{left, right}` units (`MerkleProofUnit.java`). All of these are accepted and turned into the flat
 * form with 4-byte markers that the `"fisco-receipt"` evidence carries ({@link flatProof}).
 *
 * Transport: plain HTTP, or HTTPS with a client certificate (`tls`) — a 3.x node's RPC requires mutual
 * TLS unless `rpc.disable_ssl` is set. National-cryptography TLS (SM2 dual certificates, `sm_ssl=true`)
 * is not supported: Node's TLS has no SM cipher suites, so such a node must be reached through a proxy.
 *
 * Errors: transport failures are `AdapterError` `RPC_UNAVAILABLE` / `RPC_TIMEOUT` (retry); an error
 * object or a malformed result is `FiscoError` `RPC_ERROR` with the node's code (`facts.code`) and
 * message; a transaction the node refused and a call that failed are `FiscoTransactionError` with FISCO's
 * status code (see `status.ts`); unreadable TLS files are `AdapterError` `INVALID_CONFIG`.
 */
import { readFileSync } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { AdapterError } from "@shandu/adapter-core";
import { type CryptoSuite, concatBytes, FiscoError, type FiscoHeader, type FiscoReceiptData, suiteHash, toHex } from "@shandu/proofs";
import { asRefusal, callJsonRpc, hexBytes, integer, type Json, list, obj, str } from "./json.ts";
import { FiscoTransactionError } from "./status.ts";
import type { TransactionDataV3 } from "./transaction.ts";

/**
 * Client certificate and trust anchor for a node's RPC over HTTPS. Each value is PEM text or the path of
 * a PEM file (a FISCO node's SDK certificates are `conf/ca.crt`, `conf/sdk.crt`, `conf/sdk.key`).
 */
export interface FiscoTlsOptions {
  /** The chain's CA certificate; without it the system's public CAs are trusted. */
  ca?: string;
  /** The SDK (client) certificate; give it together with `key`. */
  cert?: string;
  key?: string;
  /**
   * Also check that the node's certificate names the host in `url`. Default: on when `ca` is absent,
   * off when it is given — a chain CA issues node certificates without host names, and the FISCO SDKs
   * trust any certificate that CA issued (the CA is the pin), which is what this client does too.
   */
  verifyServerName?: boolean;
}

export interface FiscoRpcOptions {
  /** `http(s)://host:20200` */
  url: string;
  group: string;
  /** Node name within the group; "" lets the RPC service choose. */
  node?: string;
  timeoutMs?: number;
  /** Mutual TLS (an `https:` URL); see {@link FiscoTlsOptions}. */
  tls?: FiscoTlsOptions;
}

/** The first of `keys` holding a non-empty list (the newer proof keys first), else []. */
const firstList = (o: Record<string, Json>, keys: string[]): Json[] => {
  for (const k of keys) {
    const l = list(o[k], k);
    if (l.length > 0) return l;
  }
  return [];
};

const hex0x = (b: Uint8Array) => toHex(b);

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
  /** Proofs as the node sent them, unconverted (see {@link flatProof}); [] when the node sent none. */
  receiptProof: Json[];
  transactionProof: Json[];
}

/**
 * The node's receipt JSON. A node writes a Solidity contract's address with `0x` before the stored
 * lower-case hex (`toJsonResp`), and the receipt hash is over the stored text, so the prefix is dropped.
 */
export function receiptFromJson(v: Json): RpcReceipt {
  const r = obj(v, "receipt");
  const contractAddress = str(r.contractAddress, "contractAddress");
  return {
    data: {
      version: Number(integer(r.version ?? 0, "version")),
      gasUsed: str(r.gasUsed, "gasUsed"),
      contractAddress: /^0[xX][0-9a-fA-F]{40}$/.test(contractAddress) ? contractAddress.slice(2) : contractAddress,
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
    receiptProof: firstList(r, ["txReceiptProof", "receiptProof"]),
    transactionProof: firstList(r, ["txProof", "transactionProof"]),
  };
}

/** A transaction as `getTransaction` describes it (the node's `toJsonResp(Transaction)`). */
export interface RpcTransaction extends Pick<TransactionDataV3, "version" | "chainId" | "groupId" | "blockLimit" | "to" | "input"> {
  hash: Uint8Array;
  /** The nonce as the node writes it: the hex of the nonce text's bytes. */
  nonce: string;
  /** The sender the node recovered (20 bytes). */
  from: Uint8Array;
  signature: Uint8Array;
  /** When the node's pool took the transaction, in milliseconds. */
  importTime: bigint;
  /** The proof as the node sent it, unconverted; [] when none was asked for. */
  transactionProof: Json[];
}

export function transactionFromJson(v: Json): RpcTransaction {
  const t = obj(v, "transaction");
  return {
    hash: hexBytes(t.hash, "hash", 32),
    version: Number(integer(t.version ?? 0, "version")),
    chainId: str(t.chainID, "chainID"),
    groupId: str(t.groupID, "groupID"),
    blockLimit: integer(t.blockLimit ?? 0, "blockLimit"),
    nonce: str(t.nonce, "nonce"),
    to: str(t.to, "to"),
    input: t.input ? hexBytes(t.input, "input") : new Uint8Array(0),
    from: t.from ? hexBytes(t.from, "from") : new Uint8Array(0),
    signature: t.signature ? hexBytes(t.signature, "signature") : new Uint8Array(0),
    importTime: integer(t.importTime ?? 0, "importTime"),
    transactionProof: firstList(t, ["txProof", "transactionProof"]),
  };
}

const countMarker = (n: number) => Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/**
 * Markers at their places in a flat proof, shortened to 4 bytes: the ledger writes each as a 32-byte word
 * whose first 4 bytes are the count and whose other 28 are zero. Anything that is not a marker where one
 * belongs is left as it is, for the verifier to refuse.
 */
function fourByteMarkers(items: Uint8Array[]): Uint8Array[] {
  if (items.length <= 1) return items;
  const out = [...items];
  for (let i = 0; i < out.length; ) {
    let m = out[i]!;
    if (m.length === 32 && m.subarray(4).every((b) => b === 0)) out[i] = m = m.slice(0, 4);
    if (m.length !== 4) break;
    i += 1 + new DataView(m.buffer, m.byteOffset, 4).getUint32(0);
  }
  return out;
}

/**
 * A proof in the flat form the evidence carries (4-byte count markers), from any wire shape: the node's
 * flat list (hex with or without `0x`, markers as 4-byte values or 32-byte words), or `{left, right}`
 * units, where each level's group is `left ‖ current ‖ right`, `current` starting at `leaf` and becoming
 * the group's hash.
 */
export function flatProof(proof: readonly Json[], leaf: Uint8Array, suite: CryptoSuite): Uint8Array[] {
  if (proof.every((p) => typeof p === "string")) return fourByteMarkers(proof.map((p, i) => hexBytes(p, `proof[${i}]`)));
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

/** FISCO's ledger answers a lookup of an unknown hash with `GetStorageError` (`LedgerTypeDef.h`). */
const LEDGER_GET_STORAGE_ERROR = 3008;

function readPem(value: string, path: string): string {
  if (value.includes("-----BEGIN")) return value;
  try {
    return readFileSync(value, "utf8");
  } catch (cause) {
    throw new AdapterError("INVALID_CONFIG", `invalid adapter config at ${path}: cannot read the PEM file ${value}`, {
      cause,
      facts: { path },
    });
  }
}

export function agentFor(url: string, tls: FiscoTlsOptions | undefined): HttpAgent | HttpsAgent {
  const https = url.startsWith("https:");
  if (!https) {
    if (tls)
      throw new AdapterError("INVALID_CONFIG", "invalid adapter config at tls: TLS needs an https:// URL", { facts: { path: "tls" } });
    return new HttpAgent({ keepAlive: true });
  }
  if (!tls) return new HttpsAgent({ keepAlive: true });
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new AdapterError("INVALID_CONFIG", "invalid adapter config at tls: give cert and key together", { facts: { path: "tls" } });
  }
  const verifyName = tls.verifyServerName ?? tls.ca === undefined;
  return new HttpsAgent({
    keepAlive: true,
    ...(tls.ca !== undefined && { ca: readPem(tls.ca, "tls.ca") }),
    ...(tls.cert !== undefined && { cert: readPem(tls.cert, "tls.cert") }),
    ...(tls.key !== undefined && { key: readPem(tls.key, "tls.key") }),
    ...(!verifyName && { checkServerIdentity: () => undefined }),
  });
}

export class FiscoRpcClient {
  readonly #o: Required<Omit<FiscoRpcOptions, "tls">>;
  readonly #agent: HttpAgent | HttpsAgent;
  #id = 0;

  /** Throws `AdapterError` `INVALID_CONFIG` when `tls` does not fit the URL or a PEM file cannot be read. */
  constructor(o: FiscoRpcOptions) {
    this.#o = { url: o.url, group: o.group, node: o.node ?? "", timeoutMs: o.timeoutMs ?? 10_000 };
    this.#agent = agentFor(o.url, o.tls);
  }

  async request(method: string, params: Json[] = [], signal?: AbortSignal): Promise<Json> {
    const ep = { url: this.#o.url, agent: this.#agent, timeoutMs: this.#o.timeoutMs };
    return callJsonRpc(ep, ++this.#id, method, [this.#o.group, this.#o.node, ...params], signal);
  }

  /** `method` for a hash; `null` when the node's ledger has nothing under it. */
  async #lookup(method: string, params: Json[], signal?: AbortSignal): Promise<Json> {
    try {
      return await this.request(method, params, signal);
    } catch (e) {
      if (e instanceof FiscoError && e.facts.code === LEDGER_GET_STORAGE_ERROR) return null;
      throw e;
    }
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

  /**
   * The receipt of transaction `hash`, or `null` when the node has none. With `requireProof`, both proofs
   * are filled in: a current node sends the transaction proof only with `getTransaction`, which is then
   * asked too.
   */
  async getTransactionReceipt(hash: Uint8Array, requireProof: boolean, signal?: AbortSignal): Promise<RpcReceipt | null> {
    const r = await this.#lookup("getTransactionReceipt", [hex0x(hash), requireProof], signal);
    if (r === null) return null;
    const receipt = receiptFromJson(r);
    if (requireProof && receipt.transactionProof.length === 0) {
      const tx = await this.getTransaction(hash, true, signal);
      if (tx) receipt.transactionProof = tx.transactionProof;
    }
    return receipt;
  }

  /** Transaction `hash` as the node describes it, with its proof when `requireProof`; `null` if unknown. */
  async getTransaction(hash: Uint8Array, requireProof: boolean, signal?: AbortSignal): Promise<RpcTransaction | null> {
    const t = await this.#lookup("getTransaction", [hex0x(hash), requireProof], signal);
    return t === null ? null : transactionFromJson(t);
  }

  /**
   * Sends a signed TARS transaction (see `encodeTransactionV3`) and resolves with its receipt once the
   * node has executed it — also when execution failed: the transaction is then on chain with a non-zero
   * `status` (16 for a revert, the revert data as `output`), and its nonce is spent. Throws
   * `FiscoTransactionError` `TX_REFUSED` when the node did not take it, with the node's code as `status`:
   * a pool verdict (10000 `NonceCheckFail`, 10001 `BlockLimitCheckFail`, 10007 `InvalidGroupId`, 10008
   * `InvalidSignature`, …) or −1 from the RPC layer (a foreign chain id, a hash that does not match the
   * fields, bytes that do not decode). The receipt is the node's claim: re-hash it before relying on it.
   */
  async sendTransaction(tx: Uint8Array, o: AbortSignal | { requireProof?: boolean; signal?: AbortSignal } = {}): Promise<RpcReceipt> {
    const { requireProof = false, signal } = o instanceof AbortSignal ? { signal: o } : o;
    let r: Json;
    try {
      r = await this.request("sendTransaction", [hex0x(tx), requireProof], signal);
    } catch (e) {
      throw asRefusal(e);
    }
    const raw = obj(r, "receipt");
    const status = Number(integer(raw.status ?? 0, "status"));
    // Older nodes answered pool verdicts as a receipt without a hash rather than as an error.
    if (status !== 0 && (raw.hash === undefined || raw.hash === null || raw.hash === "0x" || raw.hash === "")) {
      const message = str(raw.message, "message");
      throw new FiscoTransactionError("TX_REFUSED", `the FISCO node refused the transaction: ${message}`, { status, facts: { message } });
    }
    return receiptFromJson(r);
  }

  /**
   * Runs `data` against contract `to` (20 bytes) without a transaction and returns its output. Throws
   * `FiscoTransactionError` `CALL_FAILED` with FISCO's status and the output (for a revert, status 16
   * and the revert data).
   */
  async call(to: Uint8Array, data: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const r = obj(await this.request("call", [hex0x(to), hex0x(data)], signal), "call");
    const status = Number(integer(r.status ?? 0, "status"));
    const output = r.output ? hexBytes(r.output, "output") : new Uint8Array(0);
    if (status !== 0) {
      throw new FiscoTransactionError("CALL_FAILED", "the call did not succeed", {
        status,
        output,
        facts: { to: hex0x(to), output: hex0x(output), blockNumber: r.blockNumber === undefined ? undefined : String(r.blockNumber) },
      });
    }
    return output;
  }

  /** The code deployed at `address` (20 bytes); empty when there is none. */
  async getCode(address: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const code = str(await this.request("getCode", [hex0x(address)], signal), "code");
    return code === "" || code === "0x" ? new Uint8Array(0) : hexBytes(code, "code");
  }
}
