/**
 * The batch tree: a binary Merkle tree over the message ids of one lane, leaf i holding the message with
 * nonce `firstNonce + i` (docs/protocol.md §3).
 *
 * - leaf hash  = SHA-256(0x00 ‖ messageId)
 * - node hash  = SHA-256(0x01 ‖ left ‖ right)
 * - odd count: the last node of a level with an odd number of nodes is carried up unchanged (never
 *   duplicated, which would let two different leaf lists share a root).
 *
 * Built bottom-up this way the tree is exactly the RFC 6962 §2.1 Merkle Tree Hash (split at the largest
 * power of two below n), so the transparency log and the batch tree share one definition; a property
 * test checks the equivalence. Distinct leaf and node prefixes make a node unusable as a leaf
 * (second-preimage safety).
 *
 * A proof is a list of sibling hashes in the order the verification walk below consumes them; a single
 * proof is a multiproof for one index. Verification derives the walk from `treeSize` and the indices,
 * so a proof cannot move a leaf to another position.
 */
import { MerkleError } from "./errors.ts";
import { sha256 } from "./hash.ts";

export const MAX_TREE_LEAVES = 1 << 20;
const NO_HASH = new Uint8Array(0);

const leafBuf = new Uint8Array(33);
const nodeBuf = new Uint8Array(65);
nodeBuf[0] = 1;

export function hashLeaf(value: Uint8Array): Uint8Array {
  if (value.length !== 32) {
    throw new MerkleError("BAD_HASH_LENGTH", "leaf values are 32-byte message ids", { facts: { length: value.length } });
  }
  leafBuf[0] = 0;
  leafBuf.set(value, 1);
  return sha256(leafBuf);
}

export function hashNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== 32 || right.length !== 32) {
    throw new MerkleError("BAD_HASH_LENGTH", "tree nodes are 32-byte hashes", { facts: { left: left.length, right: right.length } });
  }
  nodeBuf.set(left, 1);
  nodeBuf.set(right, 33);
  return sha256(nodeBuf);
}

function checkSize(treeSize: number): void {
  if (!Number.isSafeInteger(treeSize) || treeSize < 1) {
    throw new MerkleError("EMPTY_TREE", "a batch tree has at least one leaf", { facts: { treeSize } });
  }
  if (treeSize > MAX_TREE_LEAVES) {
    throw new MerkleError("TREE_TOO_LARGE", "batch tree is larger than allowed", { facts: { treeSize, max: MAX_TREE_LEAVES } });
  }
}

function checkIndices(indices: readonly number[], treeSize: number): void {
  if (indices.length === 0) throw new MerkleError("INDEX_OUT_OF_RANGE", "a proof needs at least one leaf index");
  let prev = -1;
  for (const i of indices) {
    if (!Number.isSafeInteger(i) || i < 0 || i >= treeSize) {
      throw new MerkleError("INDEX_OUT_OF_RANGE", "leaf index outside the tree", { facts: { index: i, treeSize } });
    }
    if (i <= prev) throw new MerkleError("INDICES_NOT_SORTED", "leaf indices must be strictly increasing", { facts: { index: i } });
    prev = i;
  }
}

/**
 * The shared walk. `sibling(level, index)` supplies a missing sibling (from the tree when proving,
 * from the proof when verifying). Returns the root.
 */
function walk(
  treeSize: number,
  indices: number[],
  hashes: Uint8Array[],
  sibling: (level: number, index: number) => Uint8Array,
  combine: (left: Uint8Array, right: Uint8Array) => Uint8Array = hashNode,
): Uint8Array {
  let size = treeSize;
  let idx = indices;
  let hs = hashes;
  for (let level = 0; size > 1; level++) {
    const nextIdx: number[] = [];
    const nextHs: Uint8Array[] = [];
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!;
      const h = hs[k]!;
      if ((i & 1) === 0) {
        if (i + 1 === size) {
          nextHs.push(h);
        } else if (idx[k + 1] === i + 1) {
          nextHs.push(combine(h, hs[k + 1]!));
          k++;
        } else {
          nextHs.push(combine(h, sibling(level, i + 1)));
        }
      } else {
        nextHs.push(combine(sibling(level, i - 1), h));
      }
      nextIdx.push(i >> 1);
    }
    idx = nextIdx;
    hs = nextHs;
    size = (size + 1) >> 1;
  }
  return hs[0]!;
}

/** An inclusion proof for one or more leaves of a tree of `treeSize` leaves. */
export interface MultiProof {
  treeSize: number;
  /** Strictly increasing leaf indices. */
  indices: number[];
  /** Sibling hashes in walk order. */
  siblings: Uint8Array[];
}

/** A complete tree kept in memory, for the side that builds batches and hands out proofs. */
export class MerkleTree {
  /** levels[0] are the leaf hashes; the last level holds the root. */
  readonly #levels: Uint8Array[][];

  private constructor(levels: Uint8Array[][]) {
    this.#levels = levels;
  }

  /** Builds the tree over 32-byte leaf values (message ids), in nonce order. */
  static fromLeaves(values: readonly Uint8Array[]): MerkleTree {
    checkSize(values.length);
    let level = values.map(hashLeaf);
    const levels = [level];
    while (level.length > 1) {
      const next: Uint8Array[] = new Array((level.length + 1) >> 1);
      for (let i = 0; i + 1 < level.length; i += 2) next[i >> 1] = hashNode(level[i]!, level[i + 1]!);
      if (level.length & 1) next[next.length - 1] = level[level.length - 1]!;
      levels.push(next);
      level = next;
    }
    return new MerkleTree(levels);
  }

  get size(): number {
    return this.#levels[0]!.length;
  }

  get root(): Uint8Array {
    return this.#levels[this.#levels.length - 1]![0]!;
  }

  /** Proof for the leaves at `indices` (strictly increasing). */
  prove(indices: number[]): MultiProof {
    checkIndices(indices, this.size);
    if (indices.length === 1) {
      // One leaf: its sibling on each level that has one (a carried-up last node has none).
      const siblings: Uint8Array[] = [];
      let i = indices[0]!;
      for (let level = 0; level < this.#levels.length - 1; level++) {
        const nodes = this.#levels[level]!;
        if ((i ^ 1) < nodes.length) siblings.push(nodes[i ^ 1]!);
        i >>= 1;
      }
      return { treeSize: this.size, indices: [indices[0]!], siblings };
    }
    // The tree already holds every hash the walk would compute: only its bookkeeping is needed.
    const siblings: Uint8Array[] = [];
    walk(
      this.size,
      indices,
      indices.map(() => NO_HASH),
      (level, index) => {
        siblings.push(this.#levels[level]![index]!);
        return NO_HASH;
      },
      () => NO_HASH,
    );
    return { treeSize: this.size, indices: [...indices], siblings };
  }
}

/** Computes the root implied by `leaves` (32-byte values, matching `proof.indices`) and the proof. */
export function computeMultiProofRoot(proof: MultiProof, leaves: readonly Uint8Array[]): Uint8Array {
  checkSize(proof.treeSize);
  checkIndices(proof.indices, proof.treeSize);
  if (leaves.length !== proof.indices.length) {
    throw new MerkleError("LEAF_COUNT_MISMATCH", "one leaf value per proven index", {
      facts: { leaves: leaves.length, indices: proof.indices.length },
    });
  }
  let used = 0;
  const root = walk(proof.treeSize, proof.indices, leaves.map(hashLeaf), () => {
    const s = proof.siblings[used++];
    if (s === undefined)
      throw new MerkleError("PROOF_TOO_SHORT", "proof has fewer siblings than the walk needs", { facts: { have: proof.siblings.length } });
    if (s.length !== 32) throw new MerkleError("BAD_HASH_LENGTH", "sibling hashes are 32 bytes", { facts: { position: used - 1 } });
    return s;
  });
  if (used !== proof.siblings.length) {
    throw new MerkleError("PROOF_TOO_LONG", "proof has unused siblings", { facts: { used, have: proof.siblings.length } });
  }
  return root;
}

/** Throws {@link MerkleError} (`ROOT_MISMATCH`, or the malformed-proof code) unless the leaves are in the tree. */
export function verifyMultiProof(root: Uint8Array, proof: MultiProof, leaves: readonly Uint8Array[]): void {
  const computed = computeMultiProofRoot(proof, leaves);
  for (let i = 0; i < 32; i++) {
    if (computed[i] !== root[i] || root.length !== 32) {
      throw new MerkleError("ROOT_MISMATCH", "proof does not lead to the attested root");
    }
  }
}
