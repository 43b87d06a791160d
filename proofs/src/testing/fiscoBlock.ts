/**
 * Made-up FISCO BCOS 3.x blocks for testing the FISCO evidence kinds offline: receipts with the logs a
 * test gives, a header over their Merkle roots sealed by test sealers, and each transaction's receipt
 * with both node-format proofs. Transaction hashes are placeholders (no transactions are encoded), so
 * these blocks are only as real as the verifiers need.
 */
import { concatBytes } from "../bytes.ts";
import type { FiscoInclusionProof } from "../evidence/fiscoInclusion.ts";
import {
  encodeFiscoHeader,
  encodeFiscoReceipt,
  type FiscoHeader,
  type FiscoLogEntry,
  type FiscoReceiptData,
  fiscoHeaderHash,
  fiscoReceiptHash,
} from "../fisco/block.ts";
import { type CryptoSuite, publicKeyOf, signHash, suiteHash } from "../fisco/crypto.ts";
import { fiscoMerkleProof, fiscoMerkleRoot } from "../fisco/merkle.ts";
import { sm3 } from "../fisco/sm3.ts";

/** A secret key for tests, from a seed. */
export const fiscoTestKey = (...seed: number[]): Uint8Array => sm3(Uint8Array.of(...seed));

/** `abi.encode(bytes)`'s head and tail for `b`: offset `head`, length, zero-padded bytes. */
export function abiBytes(b: Uint8Array, head = 32n): Uint8Array {
  const word = (v: bigint) => {
    const w = new Uint8Array(32);
    new DataView(w.buffer).setBigUint64(24, v);
    return w;
  };
  const padded = new Uint8Array(Math.ceil(b.length / 32) * 32);
  padded.set(b);
  return concatBytes(word(head), word(BigInt(b.length)), padded);
}

export interface FiscoTestBlockSpec {
  /** Per transaction, the logs of its receipt. */
  logs: readonly FiscoLogEntry[][];
  number?: bigint;
  /** Receipt status per transaction index (default 0 for all). */
  status?: Readonly<Record<number, number>>;
  /** The sealers' secret keys (default four from fixed seeds). */
  sealerKeys?: readonly Uint8Array[];
  /** Indices of the sealers that sign (default the first three of four). */
  signers?: readonly number[];
}

export interface TestFiscoBlock {
  suite: CryptoSuite;
  hash: (d: Uint8Array) => Uint8Array;
  header: FiscoHeader;
  sealerKeys: readonly Uint8Array[];
  /** The sealers' node ids, in sealer-list order. */
  nodeIds: Uint8Array[];
  txHashes: Uint8Array[];
  receipts: FiscoReceiptData[];
  receiptHashes: Uint8Array[];
  /** Transaction `index`'s receipt proven under the sealed header. */
  inclusion(index: number): FiscoInclusionProof;
}

/** A block of `spec.logs.length` transactions, sealed by `spec.signers` of `spec.sealerKeys`. */
export function fiscoBlock(suite: CryptoSuite, spec: FiscoTestBlockSpec): TestFiscoBlock {
  const number = spec.number ?? 900n;
  const sealerKeys = spec.sealerKeys ?? [1, 2, 3, 4].map((k) => fiscoTestKey(k, 7));
  const nodeIds = sealerKeys.map((k) => publicKeyOf(suite, k));
  const hash = (d: Uint8Array) => suiteHash(suite, d);
  const txHashes = spec.logs.map((_, i) => fiscoTestKey(0xaa, i, Number(number & 0xffn)));
  const receipts: FiscoReceiptData[] = spec.logs.map((logs, i) => ({
    version: 0,
    gasUsed: "50000",
    contractAddress: "",
    status: spec.status?.[i] ?? 0,
    output: new Uint8Array(0),
    logs: [...logs],
    blockNumber: number,
    effectiveGasPrice: "",
  }));
  const receiptHashes = receipts.map((r) => fiscoReceiptHash(suite, r));
  const header: FiscoHeader = {
    data: {
      version: 0,
      parents: [{ blockNumber: number - 1n, blockHash: fiscoTestKey(1) }],
      txsRoot: fiscoMerkleRoot(txHashes, hash),
      receiptRoot: fiscoMerkleRoot(receiptHashes, hash),
      stateRoot: fiscoTestKey(2),
      blockNumber: number,
      gasUsed: "250000",
      timestamp: 1_790_000_000_000n,
      sealer: 0n,
      sealerList: nodeIds,
      extraData: new Uint8Array(0),
      consensusWeights: [],
    },
    dataHash: new Uint8Array(0),
    signatures: [],
  };
  header.dataHash = fiscoHeaderHash(suite, header.data);
  header.signatures = (spec.signers ?? [0, 1, 2]).map((i) => ({
    sealerIndex: BigInt(i),
    signature: signHash(suite, header.dataHash, sealerKeys[i]!),
  }));
  return {
    suite,
    hash,
    header,
    sealerKeys,
    nodeIds,
    txHashes,
    receipts,
    receiptHashes,
    inclusion: (index) => ({
      suite,
      header: encodeFiscoHeader(header),
      receipt: encodeFiscoReceipt(receipts[index]!),
      receiptProof: fiscoMerkleProof(receiptHashes, index, hash),
      transactionProof: fiscoMerkleProof(txHashes, index, hash),
    }),
  };
}
