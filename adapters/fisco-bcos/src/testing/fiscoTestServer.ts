/**
 * A test double of a FISCO BCOS 3.x node's JSON-RPC, executing on anvil — `fiscoTestServer`, not the
 * real thing. Clients talk to it as to a node (`[group, node, …]` params, the node's JSON shapes and
 * error codes); behind it, every transaction the node would accept is executed on a real anvil node as
 * its recovered sender, and becomes one FISCO block of its own, sealed by the configured sealers.
 *
 * Faithful, from FISCO BCOS's sources (v3.16):
 * - wire format: methods, params and answers as `bcos-rpc/bcos-rpc/jsonrpc/JsonRpcImpl_2_0.cpp` writes
 *   them (see `fiscoBlocks.ts`), including where the proofs go — `getTransactionReceipt` puts the receipt
 *   proof under `txReceiptProof` beside an empty `receiptProof`, `getTransaction` the transaction proof
 *   under `txProof`, `sendTransaction` with `requireProof` the receipt proof under both keys — as 32-byte
 *   hex words with count markers (`Merkle.h`);
 * - admission (`sendTransaction`): the TARS transaction is decoded with this package's codec and its hash
 *   recomputed; a carried hash that differs, bytes that do not decode, or a foreign chain id are refused by
 *   the RPC layer with code −1; then the pool's checks in the pool's order
 *   (`bcos-txpool/bcos-txpool/txpool/validator/TxValidator.cpp`, `verify`): group id (10007
 *   `InvalidGroupId`), signature — ECDSA recovery or SM2 verification with the key the signature carries,
 *   the carried `sender` field ignored as the node clears it (10008 `InvalidSignature`), nonce already used
 *   (10000 `NonceCheckFail`), and the block limit, valid when `current < blockLimit ≤ current + 600`
 *   (`LedgerNonceChecker.cpp`, `checkBlockLimit`; 600 is `DEFAULT_BLOCK_LIMIT` in
 *   `bcos-txpool/bcos-txpool/txpool/utilities/Common.h`) (10001 `BlockLimitCheckFail`). A refused
 *   transaction never reaches anvil.
 * - receipts: status 0, or the executor's mapping of the EVM's result
 *   (`transaction-executor/bcos-transaction-executor/EVMCResult.cpp`): a revert is 16 with the revert
 *   data as output, out of gas 12 with `Error("Execution out of gas.")`; a deployment's output is empty
 *   (`vm/HostContext.h` clears it) and its address is stored as lower-case hex without `0x`; log
 *   addresses likewise; receipt version = transaction version; hashes by `fiscoReceiptHash`;
 * - blocks: `txsRoot` / `receiptsRoot` are FISCO Merkle roots (width 2), the header hash is
 *   `fiscoHeaderHash`, and `signatureList` carries the signers' signatures over it, so
 *   `checkSealerQuorum` passes against the sealers — or fails when {@link FiscoTestServer.setSigners}
 *   names too few.
 *
 * Not faithful: execution is anvil's EVM, so the SM suite still runs keccak-256 in the EVM (`KECCAK256`,
 * and whatever the compiler baked in: selectors and event topics), gas is Ethereum's gas (FISCO meters
 * its own and charges nothing by default), deployments get Ethereum's CREATE addresses (FISCO derives
 * them from the block number and the transaction's place), the state root is anvil's, and timestamps are
 * anvil's seconds times 1000 (FISCO's are milliseconds). The sender is funded on anvil on first use. The
 * RPC layer's −1 messages are the exception's `what()` text alone (a node wraps it in Boost's diagnostic
 * text). No gas price, balance, permission or precompiled contracts; no `call` with a signature.
 */
import { type AnvilNode, startAnvil } from "@shandu/adapter-evm/testing";
import {
  addressOf,
  bytesEqual,
  type CryptoSuite,
  concatBytes,
  type FiscoHeader,
  type FiscoReceiptData,
  fiscoMerkleProof,
  fiscoReceiptHash,
  fromHex,
  publicKeyOf,
  ShanduError,
  signerPublicKey,
  suiteHash,
  toHex,
} from "@shandu/proofs";
import { fiscoStatusName, FiscoTransactionStatus as S } from "../status.ts";
import {
  decodeTransactionV3,
  encodeTransactionV3,
  signTransactionV3,
  type TransactionV3,
  transactionDataV0,
  transactionHashV3,
} from "../transaction.ts";
import { headerJson, nodeProofJson, receiptJson, sealBlock, transactionJson } from "./fiscoBlocks.ts";
import { JsonRpcFault, serveJsonRpc, type TestTlsOptions } from "./jsonRpcServer.ts";

export interface FiscoTestServerOptions {
  suite: CryptoSuite;
  /** Secret keys (32 bytes) of the sealers, in sealer-list order. */
  sealerKeys: readonly Uint8Array[];
  /** Which sealers sign each header (indices); default all. */
  signers?: readonly number[];
  /** Default "group0". */
  group?: string;
  /** FISCO chain id, default "chain0". */
  chainId?: string;
  /** The node name a request may name besides "" (default "node0"). */
  nodeName?: string;
  /** An anvil node's JSON-RPC; without it the server starts its own (and stops it on close). */
  anvilUrl?: string;
  /** 0 (default): a free port. */
  port?: number;
  /** Serve HTTPS, requiring client certificates from `tls.ca`. */
  tls?: TestTlsOptions;
  /** Gas each transaction may use on anvil; default and cap: anvil's block gas limit. */
  txGasLimit?: bigint;
}

/** One FISCO block: its sealed header, its transaction, and where anvil executed it. */
export interface FiscoTestBlock {
  header: FiscoHeader;
  txs: readonly ExecutedTransaction[];
  /** The anvil block that holds the transaction (`null` for block 0). */
  anvilBlockNumber: bigint | null;
}

export interface ExecutedTransaction {
  hash: Uint8Array;
  tx: TransactionV3;
  /** The recovered sender (20 bytes), which anvil executed as. */
  sender: Uint8Array;
  receipt: FiscoReceiptData;
  receiptHash: Uint8Array;
  /** Milliseconds. */
  importTime: bigint;
  /** anvil's hash of the transaction it ran. */
  anvilTxHash: string;
}

export interface FiscoTestServer {
  /** `http(s)://127.0.0.1:<port>` */
  readonly url: string;
  readonly suite: CryptoSuite;
  readonly group: string;
  readonly chainId: string;
  /** Node ids (64-byte public keys) of the sealers, in sealer-list order: pin these. */
  readonly sealers: readonly Uint8Array[];
  readonly anvilUrl: string;
  /** The anvil node this server started, or `undefined` when it was given one. */
  readonly anvil: AnvilNode | undefined;
  /** Latest block number (0 before any transaction). */
  blockNumber(): bigint;
  block(number: bigint): FiscoTestBlock | undefined;
  /** Which sealers sign the headers of later blocks (indices); `undefined`: all. */
  setSigners(indices: readonly number[] | undefined): void;
  /**
   * A signed, TARS-encoded version-0 transaction for this chain: by default a fresh random nonce, block
   * limit current + 500 (as the SDKs set it), and this server's chain and group ids.
   */
  transaction(o: TestTransaction): Uint8Array;
  /** Stops serving, and stops the anvil node if this server started it. */
  close(): Promise<void>;
}

export interface TestTransaction {
  secretKey: Uint8Array;
  /** The contract (20 bytes); absent for a deployment. */
  to?: Uint8Array;
  input: Uint8Array;
  nonce?: string;
  blockLimit?: bigint;
  chainId?: string;
  groupId?: string;
}

export type FiscoTestServerErrorCode =
  /** anvil could not be reached or answered an error where the server needed an answer. */
  "ANVIL_FAILED";

export class FiscoTestServerError extends ShanduError<FiscoTestServerErrorCode> {
  override readonly name = "FiscoTestServerError";
}

/** `DEFAULT_BLOCK_LIMIT`, `bcos-txpool/bcos-txpool/txpool/utilities/Common.h`. */
export const FISCO_BLOCK_LIMIT_WINDOW = 600n;
/** The compatibility version a 3.16.4 chain writes in headers (`BlockVersion::V3_16_4_VERSION`, `Protocol.h`). */
const HEADER_VERSION = 0x03100400;
/** How much an impersonated sender is given on anvil, once: gas is anvil's business here, not the test's. */
const SENDER_FUNDS = 10n ** 30n;

type AnvilAnswer = { result?: unknown; error?: { code: number; message: string; data?: unknown } };
interface AnvilReceipt {
  status: string;
  blockNumber: string;
  gasUsed: string;
  contractAddress: string | null;
  logs: { address: string; topics: string[]; data: string }[];
}

const quantity = (v: bigint) => `0x${v.toString(16)}`;
const bare = (b: Uint8Array) => toHex(b).slice(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function anvilRpc(url: string) {
  let id = 0;
  const raw = async (method: string, params: unknown[]): Promise<AnvilAnswer> => {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
        signal: AbortSignal.timeout(30_000),
      });
      return (await res.json()) as AnvilAnswer;
    } catch (cause) {
      throw new FiscoTestServerError("ANVIL_FAILED", `anvil did not answer ${method}`, { cause, facts: { url, method } });
    }
  };
  const must = async <T>(method: string, params: unknown[]): Promise<T> => {
    const a = await raw(method, params);
    if (a.error) {
      throw new FiscoTestServerError("ANVIL_FAILED", `anvil refused ${method}: ${a.error.message}`, {
        facts: { method, code: a.error.code },
      });
    }
    return a.result as T;
  };
  return { raw, must };
}

/** `Error(string)` output as FISCO's ABI codec writes it, its selector hashed with the chain's hash. */
function errorOutput(suite: CryptoSuite, text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  const word = (v: number) => {
    const w = new Uint8Array(32);
    new DataView(w.buffer).setUint32(28, v);
    return w;
  };
  const padded = new Uint8Array(Math.ceil(body.length / 32) * 32);
  padded.set(body);
  return concatBytes(suiteHash(suite, new TextEncoder().encode("Error(string)")).subarray(0, 4), word(32), word(body.length), padded);
}

/** FISCO's status and output for an EVM run that failed, from anvil's answer to the same call. */
function failure(suite: CryptoSuite, error: AnvilAnswer["error"]): { status: number; output: Uint8Array } {
  if (error?.code === 3 || /revert/i.test(error?.message ?? "")) {
    const data = typeof error?.data === "string" && /^0x([0-9a-fA-F]{2})*$/.test(error.data) ? fromHex(error.data) : new Uint8Array(0);
    return { status: S.RevertInstruction, output: data };
  }
  if (/out ?of ?gas/i.test(error?.message ?? "")) return { status: S.OutOfGas, output: errorOutput(suite, "Execution out of gas.") };
  return { status: S.Unknown, output: new Uint8Array(0) };
}

/** A contract address as a transaction or a call names it, as anvil wants it; `null` if it is none. */
function evmAddress(text: string): string | null {
  const m = /^(0[xX])?([0-9a-fA-F]{40})$/.exec(text);
  return m ? `0x${m[2]!.toLowerCase()}` : null;
}

/**
 * Starts the server (and an anvil node unless `anvilUrl` is given). Throws `AnvilError` when anvil cannot
 * start, `FiscoTestServerError` `ANVIL_FAILED` when the given one does not answer.
 */
export async function startFiscoTestServer(o: FiscoTestServerOptions): Promise<FiscoTestServer> {
  const suite = o.suite;
  const group = o.group ?? "group0";
  const chainId = o.chainId ?? "chain0";
  const nodeName = o.nodeName ?? "node0";
  const hash = (d: Uint8Array) => suiteHash(suite, d);
  const sealers = o.sealerKeys.map((k) => publicKeyOf(suite, k));
  let signers = o.signers;

  const ownAnvil = o.anvilUrl === undefined ? await startAnvil() : undefined;
  const anvilUrl = o.anvilUrl ?? ownAnvil!.rpcUrl;
  const anvil = anvilRpc(anvilUrl);
  let server: Awaited<ReturnType<typeof serveJsonRpc>> | undefined;
  try {
    const head = await anvil.must<{ timestamp: string; stateRoot: string; gasLimit: string }>("eth_getBlockByNumber", ["latest", false]);
    const blockGasLimit = BigInt(head.gasLimit);
    const gas = o.txGasLimit !== undefined && o.txGasLimit < blockGasLimit ? o.txGasLimit : blockGasLimit;

    const blocks: FiscoTestBlock[] = [];
    const byHash = new Map<string, { block: FiscoTestBlock; index: number }>();
    const nonces = new Set<string>();
    const funded = new Set<string>();
    const latest = () => BigInt(blocks.length - 1);

    const seal = (txs: ExecutedTransaction[], anvilBlock: { number: bigint; timestamp: bigint; stateRoot: Uint8Array } | null) => {
      const number = BigInt(blocks.length);
      const header = sealBlock({
        suite,
        number,
        parent: blocks.at(-1)?.header,
        txHashes: txs.map((t) => t.hash),
        receiptHashes: txs.map((t) => t.receiptHash),
        sealers,
        sealerKeys: o.sealerKeys,
        signers,
        timestamp: (anvilBlock?.timestamp ?? BigInt(head.timestamp)) * 1000n,
        stateRoot: anvilBlock?.stateRoot ?? fromHex(head.stateRoot, 32),
        gasUsed: txs.reduce((sum, t) => sum + BigInt(t.receipt.gasUsed), 0n).toString(),
        version: HEADER_VERSION,
      });
      const block = { header, txs, anvilBlockNumber: anvilBlock?.number ?? null };
      blocks.push(block);
      txs.forEach((t, index) => {
        byHash.set(toHex(t.hash), { block, index });
      });
      return block;
    };
    seal([], null);

    const proofOf = (b: FiscoTestBlock, index: number, what: "tx" | "receipt") =>
      nodeProofJson(
        fiscoMerkleProof(
          b.txs.map((t) => (what === "tx" ? t.hash : t.receiptHash)),
          index,
          hash,
        ),
      );

    const txReceiptJson = (b: FiscoTestBlock, index: number) => {
      const t = b.txs[index]!;
      return { ...receiptJson(t.receipt, t.hash, t.receiptHash), to: t.tx.data.to, from: toHex(t.sender) };
    };

    /** Runs an admitted transaction on anvil and seals its block. */
    const execute = async (tx: TransactionV3, txHash: Uint8Array, sender: Uint8Array, importTime: bigint) => {
      const from = toHex(sender);
      const to = tx.data.to === "" ? null : evmAddress(tx.data.to);
      if (!funded.has(from)) {
        await anvil.must("anvil_impersonateAccount", [from]);
        await anvil.must("anvil_setBalance", [from, quantity(SENDER_FUNDS)]);
        funded.add(from);
      }
      const value = tx.data.version >= 1 && /^0x[0-9a-fA-F]+$/.test(tx.data.value) ? BigInt(tx.data.value) : 0n;
      const call = {
        from,
        data: toHex(tx.data.input),
        gas: quantity(gas),
        ...(to && { to }),
        ...(value > 0n && { value: quantity(value) }),
      };
      const anvilTxHash = await anvil.must<string>("eth_sendTransaction", [call]);
      let r: AnvilReceipt | null = null;
      for (let i = 0; i < 600 && !r; i++) {
        r = await anvil.must<AnvilReceipt | null>("eth_getTransactionReceipt", [anvilTxHash]);
        if (!r) await sleep(50);
      }
      if (!r) throw new FiscoTestServerError("ANVIL_FAILED", "anvil did not mine the transaction", { facts: { anvilTxHash } });
      const anvilBlockNumber = BigInt(r.blockNumber);
      const blk = await anvil.must<{ timestamp: string; stateRoot: string }>("eth_getBlockByNumber", [r.blockNumber, false]);
      // The output is not in anvil's receipt: run the same call on the state before the block.
      const replay = await anvil.raw("eth_call", [call, quantity(anvilBlockNumber - 1n)]);
      const ok = r.status === "0x1";
      const { status, output } = ok
        ? { status: 0, output: to && typeof replay.result === "string" ? fromHex(replay.result) : new Uint8Array(0) }
        : failure(suite, replay.error);
      const number = BigInt(blocks.length);
      const receipt: FiscoReceiptData = {
        version: tx.data.version,
        gasUsed: BigInt(r.gasUsed).toString(),
        contractAddress: ok && !to && r.contractAddress ? r.contractAddress.slice(2).toLowerCase() : "",
        status,
        output,
        logs: ok
          ? r.logs.map((l) => ({
              address: l.address.slice(2).toLowerCase(),
              topics: l.topics.map((t) => fromHex(t, 32)),
              data: fromHex(l.data),
            }))
          : [],
        blockNumber: number,
        effectiveGasPrice: "",
      };
      const executed: ExecutedTransaction = {
        hash: txHash,
        tx,
        sender,
        receipt,
        receiptHash: fiscoReceiptHash(suite, receipt),
        importTime,
        anvilTxHash,
      };
      return seal([executed], {
        number: anvilBlockNumber,
        timestamp: BigInt(blk.timestamp),
        stateRoot: fromHex(blk.stateRoot, 32),
      });
    };

    const rpcLayer = (what: string) => new JsonRpcFault(-1, what);
    const pool = (status: number) => new JsonRpcFault(status, fiscoStatusName(status));

    /** `JsonRpcImpl_2_0::sendTransaction`, then the pool's admission, then execution. */
    const sendTransaction = async (data: unknown, requireProof: boolean) => {
      if (typeof data !== "string" || data.length === 0 || data.length % 2 !== 0) throw rpcLayer("Unexpect hex string");
      let tx: TransactionV3;
      try {
        tx = decodeTransactionV3(fromHex(data));
      } catch (e) {
        throw rpcLayer(e instanceof ShanduError ? e.shortMessage : "transaction decode failed");
      }
      const txHash = transactionHashV3(suite, tx.data);
      if (tx.dataHash.length > 0 && !bytesEqual(tx.dataHash, txHash)) {
        throw rpcLayer("transaction hash mismatching, maybe transaction version not support.");
      }
      if (tx.data.chainId !== chainId) throw rpcLayer("Chain ID mismatch!");
      if (tx.data.groupId !== group) throw pool(S.InvalidGroupId);
      let sender: Uint8Array;
      try {
        sender = addressOf(suite, signerPublicKey(suite, txHash, tx.signature));
      } catch {
        throw pool(S.InvalidSignature);
      }
      if (nonces.has(tx.data.nonce)) throw pool(S.NonceCheckFail);
      const current = latest();
      if (current >= tx.data.blockLimit || current + FISCO_BLOCK_LIMIT_WINDOW < tx.data.blockLimit) throw pool(S.BlockLimitCheckFail);
      if (tx.data.to !== "" && !evmAddress(tx.data.to)) throw rpcLayer("the transaction's to is not a contract address");
      const block = await execute(tx, txHash, sender, BigInt(Date.now()));
      nonces.add(tx.data.nonce);
      const proof = requireProof ? proofOf(block, 0, "receipt") : undefined;
      return { ...txReceiptJson(block, 0), ...(proof && { txReceiptProof: proof, receiptProof: proof }) };
    };

    // One transaction at a time: admission depends on the chain as the previous one left it.
    let queue: Promise<unknown> = Promise.resolve();
    const serialised = <T>(f: () => Promise<T>): Promise<T> => {
      const run = queue.then(f, f);
      queue = run.catch(() => undefined);
      return run;
    };

    const blockAt = (v: unknown): FiscoTestBlock => {
      const n = typeof v === "number" || typeof v === "string" ? Number(v) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < 0) throw new JsonRpcFault(3003, "Wrong argument");
      const b = blocks[n];
      if (!b) throw new JsonRpcFault(3008, "GetBlockDataByNumber");
      return b;
    };
    const lookup = (v: unknown) =>
      byHash.get(
        String(v)
          .toLowerCase()
          .replace(/^(0x)?/, "0x"),
      );

    const answer = async (method: string, params: unknown[]): Promise<unknown> => {
      const [g, node, ...rest] = params;
      if (g !== group || (node !== "" && node !== nodeName && node !== undefined)) {
        throw new JsonRpcFault(
          -32000,
          `Invalid request for the specified node of doesn't exist or doesn't started!, request=${method}, chain=${chainId}, group=${String(g)}, node=${String(node)}`,
        );
      }
      switch (method) {
        case "getBlockNumber":
          return Number(latest());
        case "getBlockByNumber": {
          const b = blockAt(rest[0]);
          if (rest[1] === true) return headerJson(b.header);
          const transactions =
            rest[2] === true ? b.txs.map((t) => toHex(t.hash)) : b.txs.map((t) => transactionJson(t.tx, t.hash, t.sender, t.importTime));
          return { ...headerJson(b.header), transactions };
        }
        case "getBlockHashByNumber": {
          const n = Number(rest[0]);
          return toHex(blocks[n]?.header.dataHash ?? new Uint8Array(32));
        }
        case "getTransactionReceipt": {
          const found = lookup(rest[0]);
          if (!found) throw new JsonRpcFault(3008, "GetTransactionReceiptByHash");
          const { block, index } = found;
          const t = block.txs[index]!;
          return {
            ...txReceiptJson(block, index),
            input: toHex(t.tx.data.input),
            extraData: "",
            ...(rest[1] === true
              ? { receiptProof: [], txReceiptProof: proofOf(block, index, "receipt"), transactionProof: [] }
              : { transactionProof: null }),
          };
        }
        case "getTransaction": {
          const found = lookup(rest[0]);
          if (!found) return null;
          const t = found.block.txs[found.index]!;
          return {
            ...transactionJson(t.tx, t.hash, t.sender, t.importTime),
            ...(rest[1] === true && { transactionProof: [], txProof: proofOf(found.block, found.index, "tx") }),
          };
        }
        case "sendTransaction":
          return serialised(() => sendTransaction(rest[0], rest[1] === true));
        case "call": {
          const to = typeof rest[0] === "string" ? evmAddress(rest[0]) : null;
          if (!to || typeof rest[1] !== "string") throw new JsonRpcFault(-32602, "call needs a contract address and hex data");
          const a = await anvil.raw("eth_call", [
            { to, data: rest[1].startsWith("0x") ? rest[1] : `0x${rest[1]}`, gas: quantity(gas) },
            "latest",
          ]);
          const { status, output } =
            a.error === undefined ? { status: 0, output: fromHex(String(a.result ?? "0x")) } : failure(suite, a.error);
          return { blockNumber: Number(latest()), output: toHex(output), status };
        }
        case "getCode": {
          const address = typeof rest[0] === "string" ? evmAddress(rest[0]) : null;
          if (!address) return "";
          const code = await anvil.must<string>("eth_getCode", [address, "latest"]);
          return code === "0x" ? "" : code;
        }
        case "getSealerList":
          return sealers.map((s) => ({ nodeID: bare(s), weight: 1, termWeight: 1 }));
        default:
          throw new JsonRpcFault(-32601, "The method does not exist/is not available.");
      }
    };

    server = await serveJsonRpc(answer, { port: o.port ?? 0, tls: o.tls });
    const served = server;
    return {
      url: served.url,
      suite,
      group,
      chainId,
      sealers,
      anvilUrl,
      anvil: ownAnvil,
      blockNumber: latest,
      block: (n) => blocks[Number(n)],
      setSigners: (indices) => {
        signers = indices;
      },
      transaction: (t) => {
        const random = crypto.getRandomValues(new Uint8Array(16));
        const signed = signTransactionV3(
          suite,
          transactionDataV0({
            chainId: t.chainId ?? chainId,
            groupId: t.groupId ?? group,
            blockLimit: t.blockLimit ?? latest() + 500n,
            nonce: t.nonce ?? BigInt(toHex(random)).toString(),
            to: t.to ? toHex(t.to) : "",
            input: t.input,
          }),
          t.secretKey,
        );
        return encodeTransactionV3(signed);
      },
      close: async () => {
        await served.close();
        await ownAnvil?.close();
      },
    };
  } catch (e) {
    await server?.close();
    await ownAnvil?.close();
    throw e;
  }
}
