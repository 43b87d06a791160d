/**
 * The Merkle tree FISCO BCOS 3.x puts transactions and receipts under (`txsRoot`, `receiptRoot`), and
 * its proofs (`bcos-crypto/bcos-crypto/merkle/Merkle.h`, width 2): each level hashes runs of up to two
 * nodes, `H(a ‖ b)`, or `H(a)` for a last node without a partner; a single leaf is its own root. There
 * is no leaf/node prefix. A proof lists, level by level, a 4-byte big-endian count followed by the
 * `count` hashes of the group holding the current hash; the verifier hashes the group and moves up.
 *
 * The node's own verifier only checks that the current hash is somewhere in each group. This one is
 * stricter — each count is 1 or 2 and every element is 32 bytes — and it reports where the leaf sits
 * in each group, so a caller can tell a proof of a leaf from a proof of an interior node: a proof
 * accepted here proves that `leaf` is a node of the tree under `root` at the depth the proof claims.
 */
import { bytesEqual, concatBytes } from "../bytes.ts";
import { FiscoError } from "../errors.ts";

export const FISCO_MERKLE_WIDTH = 2;

const countBytes = (n: number) => Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/** Root of the tree over `leaves` (32-byte hashes), with `hash` the chain's hash (keccak-256 or SM3). */
export function fiscoMerkleRoot(leaves: readonly Uint8Array[], hash: (d: Uint8Array) => Uint8Array): Uint8Array {
  return fiscoMerkleLevels(leaves, hash).at(-1)![0]!;
}

function fiscoMerkleLevels(leaves: readonly Uint8Array[], hash: (d: Uint8Array) => Uint8Array): Uint8Array[][] {
  if (leaves.length === 0) throw new FiscoError("FIELD_MISSING", "a FISCO Merkle tree needs at least one leaf");
  const levels: Uint8Array[][] = [[...leaves]];
  while (levels.at(-1)!.length > 1) {
    const below = levels.at(-1)!;
    const next: Uint8Array[] = [];
    for (let i = 0; i < below.length; i += FISCO_MERKLE_WIDTH) next.push(hash(concatBytes(...below.slice(i, i + FISCO_MERKLE_WIDTH))));
    levels.push(next);
  }
  return levels;
}

/** The proof of leaf `index`, in the node's format (count markers included). */
export function fiscoMerkleProof(leaves: readonly Uint8Array[], index: number, hash: (d: Uint8Array) => Uint8Array): Uint8Array[] {
  const levels = fiscoMerkleLevels(leaves, hash);
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length)
    throw new FiscoError("FIELD_MISSING", "leaf index outside the tree", { facts: { index } });
  if (leaves.length === 1) return [levels[0]![0]!];
  const out: Uint8Array[] = [];
  let at = index;
  for (const level of levels.slice(0, -1)) {
    const start = at - (at % FISCO_MERKLE_WIDTH);
    const group = level.slice(start, start + FISCO_MERKLE_WIDTH);
    out.push(countBytes(group.length), ...group);
    at = Math.floor(at / FISCO_MERKLE_WIDTH);
  }
  return out;
}

/**
 * Checks that `leaf` is under `root` by `proof` (untrusted). Returns the leaf's position inside each
 * group from the bottom (0 or 1), which gives its index for a full tree. Throws {@link FiscoError}
 * `MERKLE_PROOF_INVALID`.
 */
export function verifyFiscoMerkleProof(
  proof: readonly Uint8Array[],
  leaf: Uint8Array,
  root: Uint8Array,
  hash: (d: Uint8Array) => Uint8Array,
): number[] {
  const bad = (why: string, facts: Record<string, number> = {}) =>
    new FiscoError("MERKLE_PROOF_INVALID", `FISCO Merkle proof: ${why}`, { facts });
  if (leaf.length !== 32 || root.length !== 32) throw bad("leaf and root are 32 bytes");
  if (proof.length === 0) throw bad("empty proof");
  if (proof.length === 1) {
    if (!bytesEqual(proof[0]!, leaf) || !bytesEqual(leaf, root)) throw bad("a one-element proof is the root itself");
    return [];
  }
  const positions: number[] = [];
  let current = leaf;
  let i = 0;
  while (i < proof.length) {
    const marker = proof[i++]!;
    if (marker.length !== 4) throw bad("a count marker is 4 bytes", { at: i - 1 });
    const count = ((marker[0]! << 24) | (marker[1]! << 16) | (marker[2]! << 8) | marker[3]!) >>> 0;
    if (count < 1 || count > FISCO_MERKLE_WIDTH || i + count > proof.length)
      throw bad("a group count is 1 or 2 and within the proof", { at: i - 1, count });
    const group = proof.slice(i, i + count);
    if (group.some((g) => g.length !== 32)) throw bad("group elements are 32 bytes", { at: i });
    const position = group.findIndex((g) => bytesEqual(g, current));
    if (position < 0) throw bad("the hash being proven is not in the group", { at: i, level: positions.length });
    positions.push(position);
    current = hash(concatBytes(...group));
    i += count;
  }
  if (!bytesEqual(current, root)) throw bad("the proof leads to another root", { levels: positions.length });
  return positions;
}
