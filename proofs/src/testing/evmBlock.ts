/**
 * Made-up EVM blocks for testing the EVM evidence kinds offline: consensus encodings of transactions,
 * receipts and headers, and a block whose tries are built with the Merkle-Patricia builder so that any
 * of its transactions can be proven. Only the fields the verifiers read are meaningful; signatures,
 * addresses and gas figures are placeholders, so these are not valid Ethereum blocks.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { concatBytes } from "../bytes.ts";
import type { EvmInclusionProof } from "../evidence/evmInclusion.ts";
import { indexedTrie, indexKey } from "../evidence/mpt.ts";
import { type RlpItem, rlpEncode, uintBytes } from "../evidence/rlp.ts";

const u = (v: number | bigint) => uintBytes(BigInt(v));
const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

/** A `uint64` as an ABI word or an indexed topic: big-endian, left-padded to 32 bytes. */
export function evmWord(v: bigint): Uint8Array {
  const w = new Uint8Array(32);
  new DataView(w.buffer).setBigUint64(24, v);
  return w;
}

/**
 * A transaction's consensus encoding of EIP-2718 `type` (0 legacy with EIP-155 `v`, 1–4 typed, with
 * `chainId` as the first field). Only the chain id is meaningful; `nonce` makes transactions differ.
 */
export function evmTransaction(type: number, nonce: number, chainId = 31337n): Uint8Array {
  if (type === 0) {
    return rlpEncode([u(nonce), u(1e9), u(21000), fill(20, 9), u(0), new Uint8Array(0), u(chainId * 2n + 35n), fill(32, 3), fill(32, 4)]);
  }
  return concatBytes(
    Uint8Array.of(type),
    rlpEncode([u(chainId), u(nonce), u(1), u(1e9), u(21000), fill(20, 9), u(0), new Uint8Array(0), [], u(1), fill(32, 3), fill(32, 4)]),
  );
}

/** A receipt's consensus encoding: `type ‖ RLP([status, cumulativeGasUsed, logsBloom, logs])`, or the bare list for type 0. */
export function evmReceipt(type: number, logs: RlpItem[], status = 1, cumulativeGas = 50_000): Uint8Array {
  const list = rlpEncode([u(status), u(cumulativeGas), fill(256, 0), logs]);
  return type === 0 ? list : concatBytes(Uint8Array.of(type), list);
}

/** A header of `fields` fields (15 = Frontier … 21 = Prague, 22 = a future fork's extra field) with the given roots and number. */
export function evmHeader(transactionsRoot: Uint8Array, receiptsRoot: Uint8Array, number: bigint, fields = 21): Uint8Array {
  const all: RlpItem[] = [
    fill(32, 0x11),
    fill(32, 0x12),
    fill(20, 0x13),
    fill(32, 0x14),
    transactionsRoot,
    receiptsRoot,
    fill(256, 0),
    u(0),
    u(number),
    u(30_000_000),
    u(1_000_000),
    u(1_760_000_000),
    new Uint8Array(0),
    fill(32, 0x15),
    fill(8, 0),
    u(7),
    fill(32, 0x16),
    u(0),
    u(0),
    fill(32, 0x17),
    fill(32, 0x18),
    fill(32, 0x19),
  ];
  return rlpEncode(all.slice(0, fields));
}

/** The EIP-2718 type of a transaction encoding (0 for legacy). */
export function evmTypeOf(encoding: Uint8Array): number {
  const first = encoding[0] ?? 0xc0;
  return first < 0x80 ? first : 0;
}

export interface TestEvmBlock {
  header: Uint8Array;
  blockHash: Uint8Array;
  transactions: Uint8Array[];
  receipts: Uint8Array[];
  /** The shared evidence members proving transaction `index` and its receipt in this block. */
  inclusion(index: number, chainId?: bigint): EvmInclusionProof;
}

/**
 * A block of `transactions` whose receipts are `receipts` (one per transaction, in order), with both
 * tries built and the header committing to them.
 */
export function evmBlock(transactions: Uint8Array[], receipts: Uint8Array[], number = 123n, headerFields = 21): TestEvmBlock {
  const txTrie = indexedTrie(transactions);
  const receiptTrie = indexedTrie(receipts);
  const header = evmHeader(txTrie.root, receiptTrie.root, number, headerFields);
  const blockHash = keccak_256(header);
  return {
    header,
    blockHash,
    transactions,
    receipts,
    inclusion: (index, chainId) => ({
      ...(chainId === undefined ? {} : { chainId }),
      blockHash,
      header,
      transactionIndex: index,
      transaction: transactions[index]!,
      transactionProof: txTrie.prove(indexKey(index)),
      receipt: receipts[index]!,
      receiptProof: receiptTrie.prove(indexKey(index)),
    }),
  };
}
