/**
 * The Merkle tree FISCO BCOS 2.x (from v2.2.0) puts a block's transactions and receipts under
 * (`transactionsRoot`, `receiptsRoot`), its proofs, and the 2.x receipt encoding its leaves commit to.
 *
 * Tree (FISCO-BCOS release-2.x `libprotocol/ParallelMerkleProof.cpp`, `getMerkleProofRoot` /
 * `getMerkleProof`; earlier `libdevcore/TrieHash2.cpp`): each leaf is `rlp(index) ‖ H(item)` — the RLP of
 * the item's position in the block (an integer: 0 is `0x80`) followed by the 32-byte hash of the item,
 * *not* hashed again (`libethcore/Block.cpp`, `calTransactionRoot` and `getReceiptAndHash`;
 * `libblockchain/BlockChainImp.cpp`, `getHashNeed2Proof`). Each level concatenates runs of up to 16 nodes
 * and hashes them; when one node is left, the root is H(that node) — so even a one-leaf block's root is
 * H(leaf). H is keccak-256 or SM3 (`crypto::Hash`).
 *
 * Proofs (`BlockChainImp::getMerkleProof`, written by `Rpc::getTransactionReceiptByHashWithProof` as
 * `receiptProof` and by `getTransactionByHashWithProof` as `txProof`): one `{left, right}` per level, the
 * siblings before and after the current node in its group, ending with the root's own `{[], []}`. A
 * verifier hashes `left ‖ current ‖ right` level by level (web3sdk `channel/client/Merkle.java`
 * `calculateMerkleRoot`). The worked example in FISCO-BCOS-DOC `docs/design/merkle_proof.md` is this
 * file's golden vector.
 *
 * Receipts (`libethcore/TransactionReceipt.cpp`, `streamRLP`): the RLP list
 * `[stateRoot, gasUsed, contractAddress, logsBloom, status, output, (remainGas,) logs]`, each log
 * `[address, [topics…], data]`; integers are minimal big-endian. `remainGas` is there when the chain's
 * `supported_version` is 2.8.0 or later, which the receipt's JSON does not tell; see
 * {@link verifyFiscoV2ReceiptProof}.
 */
import { bytesEqual, concatBytes } from "../bytes.ts";
import { FiscoError } from "../errors.ts";
import { type RlpItem, rlpEncode, uintBytes } from "../evidence/rlp.ts";
import { type CryptoSuite, suiteHash } from "./crypto.ts";

export const FISCO_V2_MERKLE_WIDTH = 16;

/** One level of a 2.x proof: the siblings left and right of the current node in its group. */
export interface FiscoV2ProofLevel {
  left: Uint8Array[];
  right: Uint8Array[];
}

type Hash = (d: Uint8Array) => Uint8Array;

const invalid = (why: string, facts: Record<string, number | string> = {}) =>
  new FiscoError("MERKLE_PROOF_INVALID", `FISCO 2.x Merkle proof: ${why}`, { facts });

/** The leaf of the item at `index` whose hash is `itemHash`: `rlp(index) ‖ itemHash`. */
export function fiscoV2MerkleLeaf(index: number, itemHash: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0 || index > 0xffffffff) {
    throw new FiscoError("FIELD_MISSING", "a 2.x Merkle leaf index is a 32-bit unsigned integer", { facts: { index } });
  }
  if (itemHash.length !== 32) throw new FiscoError("FIELD_MISSING", "a 2.x Merkle leaf commits to a 32-byte hash");
  return concatBytes(rlpEncode(uintBytes(BigInt(index))), itemHash);
}

function levels(leaves: readonly Uint8Array[], hash: Hash): Uint8Array[][] {
  if (leaves.length === 0) throw new FiscoError("FIELD_MISSING", "a FISCO 2.x Merkle tree needs at least one leaf");
  const out: Uint8Array[][] = [[...leaves]];
  while (out.at(-1)!.length > 1) {
    const below = out.at(-1)!;
    const next: Uint8Array[] = [];
    for (let i = 0; i < below.length; i += FISCO_V2_MERKLE_WIDTH)
      next.push(hash(concatBytes(...below.slice(i, i + FISCO_V2_MERKLE_WIDTH))));
    out.push(next);
  }
  return out;
}

/** The root over `leaves` (see {@link fiscoV2MerkleLeaf}). An empty block's root is H(""), as the node's. */
export function fiscoV2MerkleRoot(leaves: readonly Uint8Array[], hash: Hash): Uint8Array {
  if (leaves.length === 0) return hash(new Uint8Array(0));
  return hash(levels(leaves, hash).at(-1)![0]!);
}

/** The proof of leaf `index`, as a node writes it (the root's `{[], []}` last). */
export function fiscoV2MerkleProof(leaves: readonly Uint8Array[], index: number, hash: Hash): FiscoV2ProofLevel[] {
  const all = levels(leaves, hash);
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length)
    throw new FiscoError("FIELD_MISSING", "leaf index outside the tree", { facts: { index } });
  const out: FiscoV2ProofLevel[] = [];
  let at = index;
  for (const level of all.slice(0, -1)) {
    const start = at - (at % FISCO_V2_MERKLE_WIDTH);
    const group = level.slice(start, start + FISCO_V2_MERKLE_WIDTH);
    out.push({ left: group.slice(0, at - start), right: group.slice(at - start + 1) });
    at = Math.floor(at / FISCO_V2_MERKLE_WIDTH);
  }
  out.push({ left: [], right: [] });
  return out;
}

/**
 * Checks that `leaf` is under `root` by `proof` (untrusted) and returns the leaf's index as the proof
 * places it (Σ position·16^level). Stricter than the SDKs: every group holds at most 16 nodes, the
 * bottom level's siblings are leaf-shaped (33 to 37 bytes) and every higher one is 32 bytes, and the last
 * level is the root's `{[], []}`. Throws `MERKLE_PROOF_INVALID`.
 */
export function verifyFiscoV2MerkleProof(proof: readonly FiscoV2ProofLevel[], leaf: Uint8Array, root: Uint8Array, hash: Hash): number {
  if (root.length !== 32) throw invalid("the root is 32 bytes");
  if (leaf.length < 33 || leaf.length > 37) throw invalid("a leaf is rlp(index) ‖ a 32-byte hash", { length: leaf.length });
  if (proof.length === 0) throw invalid("empty proof");
  const last = proof.at(-1)!;
  if (last.left.length !== 0 || last.right.length !== 0) throw invalid("the last level is the root's, with no siblings");
  let current = leaf;
  let index = 0;
  let scale = 1;
  proof.forEach(({ left, right }, level) => {
    const size = left.length + 1 + right.length;
    if (size > FISCO_V2_MERKLE_WIDTH) throw invalid("a group holds at most 16 nodes", { level, size });
    for (const s of [...left, ...right]) {
      const ok = level === 0 ? s.length >= 33 && s.length <= 37 : s.length === 32;
      if (!ok) throw invalid(level === 0 ? "bottom-level siblings are leaves" : "siblings above the leaves are 32 bytes", { level });
    }
    if (level < proof.length - 1) {
      index += left.length * scale;
      scale *= FISCO_V2_MERKLE_WIDTH;
      if (!Number.isSafeInteger(scale)) throw invalid("too many levels", { level });
    }
    current = hash(concatBytes(...left, current, ...right));
  });
  if (!bytesEqual(current, root)) throw invalid("the proof leads to another root", { levels: proof.length });
  return index;
}

export interface FiscoV2Log {
  /** 20 bytes. */
  address: Uint8Array;
  /** 32 bytes each. */
  topics: Uint8Array[];
  data: Uint8Array;
}

/** A 2.x receipt: the fields its hash covers, and its position in the block. */
export interface FiscoV2Receipt {
  transactionIndex: number;
  /** `root` in the JSON (32 bytes). */
  stateRoot: Uint8Array;
  gasUsed: bigint;
  /** 20 bytes (zero when no contract was created). */
  contractAddress: Uint8Array;
  /** 256 bytes. */
  logsBloom: Uint8Array;
  /** The execution status (`TransactionException`): 0 for success, 0x16 for a revert. */
  status: bigint;
  output: Uint8Array;
  /** Present in JSON from nodes that print it; covered by the hash only on chains at 2.8.0 or later. */
  remainGas?: bigint;
  logs: FiscoV2Log[];
}

/** The receipt's RLP, with `remainGas` when `withRemainGas` (see the module comment). */
export function fiscoV2ReceiptRlp(r: FiscoV2Receipt, withRemainGas: boolean): Uint8Array {
  const fields: RlpItem[] = [r.stateRoot, uintBytes(r.gasUsed), r.contractAddress, r.logsBloom, uintBytes(r.status), r.output];
  if (withRemainGas) fields.push(uintBytes(r.remainGas ?? 0n));
  fields.push(r.logs.map((l) => [l.address, l.topics, l.data]));
  return rlpEncode(fields);
}

export type FiscoV2ReceiptFormat = "auto" | "v2.0" | "v2.8";

/**
 * Checks that `receipt` is the receipt at its `transactionIndex` under `receiptsRoot`: re-encodes it,
 * hashes it in `suite`, forms the leaf and walks `proof`; the proof's position must be the receipt's
 * index. `format` names the receipt encoding: "v2.0" without `remainGas`, "v2.8" with it, "auto" (the
 * default) tries the encoding without it and, when the JSON carried `remainGas`, the one with it — both
 * commit to the same fields, so either matching the root is a proof of those fields. Returns the encoding
 * that matched. Throws `MERKLE_PROOF_INVALID`.
 */
export function verifyFiscoV2ReceiptProof(
  receipt: FiscoV2Receipt,
  proof: readonly FiscoV2ProofLevel[],
  receiptsRoot: Uint8Array,
  suite: CryptoSuite,
  format: FiscoV2ReceiptFormat = "auto",
): "v2.0" | "v2.8" {
  const hash: Hash = (d) => suiteHash(suite, d);
  const tries: ("v2.0" | "v2.8")[] = format === "auto" ? (receipt.remainGas === undefined ? ["v2.0"] : ["v2.0", "v2.8"]) : [format];
  let failure: unknown;
  for (const f of tries) {
    const leaf = fiscoV2MerkleLeaf(receipt.transactionIndex, hash(fiscoV2ReceiptRlp(receipt, f === "v2.8")));
    try {
      const at = verifyFiscoV2MerkleProof(proof, leaf, receiptsRoot, hash);
      if (at !== receipt.transactionIndex) {
        throw invalid("the proof places the receipt at another index", { index: receipt.transactionIndex, proven: at });
      }
      return f;
    } catch (e) {
      failure = e;
    }
  }
  throw failure;
}

/** Checks that transaction `hash` is the one at `index` under `transactionsRoot`. Throws `MERKLE_PROOF_INVALID`. */
export function verifyFiscoV2TransactionProof(
  txHash: Uint8Array,
  index: number,
  proof: readonly FiscoV2ProofLevel[],
  transactionsRoot: Uint8Array,
  suite: CryptoSuite,
): void {
  const hash: Hash = (d) => suiteHash(suite, d);
  const at = verifyFiscoV2MerkleProof(proof, fiscoV2MerkleLeaf(index, txHash), transactionsRoot, hash);
  if (at !== index) throw invalid("the proof places the transaction at another index", { index, proven: at });
}
