/**
 * Blocks and JSON as a FISCO BCOS 3.x node makes them, for this folder's test doubles: a header over
 * its transactions' and receipts' Merkle roots, hashed and signed by sealers
 * (`bcos-tars-protocol/bcos-tars-protocol/impl/TarsHashable.h`, `bcos-crypto/bcos-crypto/merkle/Merkle.h`),
 * and the JSON the node's RPC writes for headers, receipts, transactions and proofs
 * (`bcos-rpc/bcos-rpc/jsonrpc/JsonRpcImpl_2_0.cpp`, the `toJsonResp` overloads and `addProofToResponse`).
 */
import {
  type CryptoSuite,
  type FiscoHeader,
  type FiscoReceiptData,
  fiscoHeaderHash,
  fiscoMerkleRoot,
  signHash,
  suiteHash,
  toHex,
} from "@shandu/proofs";
import type { TransactionV3 } from "../transaction.ts";

export interface SealBlockInput {
  suite: CryptoSuite;
  number: bigint;
  /** The block before (none for block 0). */
  parent: FiscoHeader | undefined;
  txHashes: readonly Uint8Array[];
  /** Receipt hashes, in transaction order. */
  receiptHashes: readonly Uint8Array[];
  /** Sealers' node ids (64-byte public keys) and their secret keys, in sealer-list order. */
  sealers: readonly Uint8Array[];
  sealerKeys: readonly Uint8Array[];
  /** Indices of the sealers that sign (default all); none sign block 0. */
  signers?: readonly number[];
  /** Milliseconds. */
  timestamp: bigint;
  stateRoot: Uint8Array;
  /** Decimal text, as the node writes gas. */
  gasUsed: string;
  /** Default 0. */
  version?: number;
  /** Index of the proposing sealer; default `number mod sealers`. */
  sealer?: bigint;
}

/** An empty list's root is the zero hash (`bcos-tars-protocol/bcos-tars-protocol/protocol/BlockImpl.cpp`, `calculateTransactionRoot`). */
const root = (leaves: readonly Uint8Array[], suite: CryptoSuite) =>
  leaves.length === 0 ? new Uint8Array(32) : fiscoMerkleRoot(leaves, (d) => suiteHash(suite, d));

/** The sealed header of a block: roots, hash, and a signature over the hash by each signer. */
export function sealBlock(b: SealBlockInput): FiscoHeader {
  const sealers = [...b.sealers];
  const data: FiscoHeader["data"] = {
    version: b.version ?? 0,
    parents: b.parent ? [{ blockNumber: b.parent.data.blockNumber, blockHash: b.parent.dataHash }] : [],
    txsRoot: root(b.txHashes, b.suite),
    receiptRoot: root(b.receiptHashes, b.suite),
    stateRoot: b.stateRoot,
    blockNumber: b.number,
    gasUsed: b.gasUsed,
    timestamp: b.timestamp,
    sealer: b.sealer ?? (sealers.length ? b.number % BigInt(sealers.length) : 0n),
    sealerList: sealers,
    extraData: new Uint8Array(0),
    consensusWeights: sealers.map(() => 1n),
  };
  const dataHash = fiscoHeaderHash(b.suite, data);
  const signers = b.number === 0n ? [] : (b.signers ?? b.sealerKeys.map((_, i) => i));
  return {
    data,
    dataHash,
    signatures: signers.map((i) => ({ sealerIndex: BigInt(i), signature: signHash(b.suite, dataHash, b.sealerKeys[i]!) })),
  };
}

/** `toJsonResp(BlockHeader)`. */
export function headerJson(h: FiscoHeader): Record<string, unknown> {
  return {
    hash: toHex(h.dataHash),
    version: h.data.version,
    txsRoot: toHex(h.data.txsRoot),
    receiptsRoot: toHex(h.data.receiptRoot),
    stateRoot: toHex(h.data.stateRoot),
    number: Number(h.data.blockNumber),
    gasUsed: h.data.gasUsed,
    timestamp: Number(h.data.timestamp),
    sealer: Number(h.data.sealer),
    extraData: toHex(h.data.extraData),
    consensusWeights: h.data.consensusWeights.map(Number),
    sealerList: h.data.sealerList.map((s) => toHex(s)),
    parentInfo: h.data.parents.map((p) => ({ blockNumber: Number(p.blockNumber), blockHash: toHex(p.blockHash) })),
    signatureList: h.signatures.map((s) => ({ sealerIndex: Number(s.sealerIndex), signature: toHex(s.signature) })),
  };
}

/**
 * `toJsonResp(TransactionReceipt)`: a Solidity contract address gets `0x` before the stored text, log
 * addresses are written as stored, version ≥ 1 receipts add `effectiveGasPrice`.
 */
export function receiptJson(r: FiscoReceiptData, txHash: Uint8Array, receiptHash: Uint8Array, message = ""): Record<string, unknown> {
  const contractAddress = r.contractAddress && !r.contractAddress.startsWith("0x") ? `0x${r.contractAddress}` : r.contractAddress;
  return {
    version: r.version,
    contractAddress,
    checksumContractAddress: contractAddress,
    gasUsed: r.gasUsed,
    status: r.status,
    blockNumber: Number(r.blockNumber),
    output: toHex(r.output),
    message,
    transactionHash: toHex(txHash),
    hash: toHex(receiptHash),
    logEntries: r.logs.map((l) => ({ address: l.address, topics: l.topics.map((t) => toHex(t)), data: toHex(l.data) })),
    ...(r.version >= 1 && { effectiveGasPrice: r.effectiveGasPrice }),
  };
}

const utf8 = new TextEncoder();

/** `toJsonResp(Transaction)`: the nonce as the hex of its text, the recovered sender as `from`. */
export function transactionJson(tx: TransactionV3, hash: Uint8Array, sender: Uint8Array, importTimeMs: bigint): Record<string, unknown> {
  const d = tx.data;
  return {
    version: d.version,
    hash: toHex(hash),
    nonce: toHex(utf8.encode(d.nonce)).slice(2),
    blockLimit: Number(d.blockLimit),
    to: d.to,
    input: toHex(d.input),
    from: toHex(sender),
    importTime: Number(importTimeMs),
    chainID: d.chainId,
    groupID: d.groupId,
    abi: d.abi,
    signature: toHex(tx.signature),
    extraData: "",
    ...(d.version >= 1 && {
      value: d.value,
      gasPrice: d.gasPrice,
      gasLimit: Number(d.gasLimit),
      maxFeePerGas: d.maxFeePerGas,
      maxPriorityFeePerGas: d.maxPriorityFeePerGas,
    }),
    // The node appends the extension's bytes one by one.
    ...(d.version >= 2 && { extension: Array.from(d.extension) }),
  };
}

/**
 * A flat proof (`fiscoMerkleProof`, 4-byte count markers) as the ledger hands it to the RPC: every item a
 * 32-byte word — a marker is its count, big-endian, in the first 4 bytes of a zeroed word — written by
 * `addProofToResponse` as hex without `0x`.
 */
export function nodeProofJson(flat: readonly Uint8Array[]): string[] {
  return flat.map((item) => {
    const word = new Uint8Array(32);
    word.set(item.subarray(0, 32));
    return toHex(word).slice(2);
  });
}
