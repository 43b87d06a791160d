import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MerkleError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import { computeMultiProofRoot, hashLeaf, hashNode, MerkleTree, verifyMultiProof } from "./merkle.ts";
import { errorCode } from "./testing/mod.ts";

/** RFC 6962 §2.1 Merkle Tree Hash, written recursively as the RFC states it. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return hashLeaf(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashNode(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leavesOf = (n: number, salt = 0) => Array.from({ length: n }, (_, i) => sha256(new Uint8Array([salt, i & 0xff, i >> 8])));
const arbTree = fc
  .integer({ min: 1, max: 300 })
  .chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: Math.min(n, 12) })));

const code = (f: () => unknown) => errorCode(f, MerkleError);

describe("batch tree", () => {
  it("is the RFC 6962 Merkle Tree Hash for every size", () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = leavesOf(n);
      assert.deepEqual(MerkleTree.fromLeaves(leaves).root, mth(leaves), `n=${n}`);
    }
  });

  it("distinguishes leaves from nodes (second-preimage safety)", () => {
    const [a, b] = leavesOf(2);
    assert.notDeepEqual(hashLeaf(a!), a);
    const twoLeafRoot = MerkleTree.fromLeaves([a!, b!]).root;
    // The root of [a, b] presented as a single leaf does not give the same root.
    assert.notDeepEqual(MerkleTree.fromLeaves([twoLeafRoot]).root, twoLeafRoot);
  });

  it("proves and verifies random leaf sets in random trees", () => {
    fc.assert(
      fc.property(arbTree, ([n, picked]) => {
        const leaves = leavesOf(n);
        const tree = MerkleTree.fromLeaves(leaves);
        const indices = [...picked].sort((x, y) => x - y);
        const proof = tree.prove(indices);
        verifyMultiProof(
          tree.root,
          proof,
          indices.map((i) => leaves[i]!),
        );
      }),
      { numRuns: 200 },
    );
  });

  it("rejects tampered proofs", () => {
    fc.assert(
      fc.property(arbTree, fc.nat(), fc.nat({ max: 255 }), ([n, picked], which, bit) => {
        const leaves = leavesOf(n);
        const tree = MerkleTree.fromLeaves(leaves);
        const indices = [...picked].sort((x, y) => x - y);
        const proof = tree.prove(indices);
        const values = indices.map((i) => leaves[i]!);
        // a flipped bit in a sibling
        if (proof.siblings.length > 0) {
          const siblings = proof.siblings.map((s) => s.slice());
          siblings[which % siblings.length]![bit % 32]! ^= 1 << (bit % 8);
          assert.equal(
            code(() => verifyMultiProof(tree.root, { ...proof, siblings }, values)),
            "ROOT_MISMATCH",
          );
        }
        // a different leaf value
        const forged = values.map((v) => v.slice());
        forged[which % forged.length]![0]! ^= 1;
        assert.equal(
          code(() => verifyMultiProof(tree.root, proof, forged)),
          "ROOT_MISMATCH",
        );
        // an extra sibling
        assert.equal(
          code(() => verifyMultiProof(tree.root, { ...proof, siblings: [...proof.siblings, sha256(new Uint8Array(1))] }, values)),
          "PROOF_TOO_LONG",
        );
      }),
      { numRuns: 150 },
    );
  });

  it("binds a proof to its position and tree size", () => {
    const leaves = leavesOf(11);
    const tree = MerkleTree.fromLeaves(leaves);
    const proof = tree.prove([4]);
    assert.equal(
      code(() => verifyMultiProof(tree.root, { ...proof, indices: [5] }, [leaves[4]!])),
      "ROOT_MISMATCH",
    );
    // Sizes whose walk for this index has another shape need a different number of siblings. (Sizes with
    // the same shape compute the same root; the size a verifier uses comes from the attested nonce range.)
    assert.equal(
      code(() => verifyMultiProof(tree.root, { ...proof, treeSize: 5 }, [leaves[4]!])),
      "PROOF_TOO_LONG",
    );
    assert.equal(
      code(() => verifyMultiProof(tree.root, { ...proof, treeSize: 4 }, [leaves[4]!])),
      "INDEX_OUT_OF_RANGE",
    );
    assert.equal(
      code(() => verifyMultiProof(tree.root, { ...proof, siblings: proof.siblings.slice(1) }, [leaves[4]!])),
      "PROOF_TOO_SHORT",
    );
  });

  it("rejects malformed inputs with specific codes", () => {
    const leaves = leavesOf(4);
    const tree = MerkleTree.fromLeaves(leaves);
    assert.equal(
      code(() => MerkleTree.fromLeaves([])),
      "EMPTY_TREE",
    );
    assert.equal(
      code(() => tree.prove([])),
      "INDEX_OUT_OF_RANGE",
    );
    assert.equal(
      code(() => tree.prove([4])),
      "INDEX_OUT_OF_RANGE",
    );
    assert.equal(
      code(() => tree.prove([2, 2])),
      "INDICES_NOT_SORTED",
    );
    assert.equal(
      code(() => computeMultiProofRoot({ treeSize: 4, indices: [0, 1], siblings: [] }, [leaves[0]!])),
      "LEAF_COUNT_MISMATCH",
    );
    assert.equal(
      code(() => hashLeaf(new Uint8Array(31))),
      "BAD_HASH_LENGTH",
    );
    assert.equal(
      code(() => computeMultiProofRoot({ treeSize: 2, indices: [0], siblings: [new Uint8Array(31)] }, [leaves[0]!])),
      "BAD_HASH_LENGTH",
    );
    assert.equal(
      code(() => verifyMultiProof(tree.root, { treeSize: 2 ** 21, indices: [0], siblings: [] }, [leaves[0]!])),
      "TREE_TOO_LARGE",
    );
  });

  it("a one-leaf tree needs no siblings and its root is the leaf hash", () => {
    const [a] = leavesOf(1);
    const tree = MerkleTree.fromLeaves([a!]);
    assert.deepEqual(tree.root, hashLeaf(a!));
    assert.deepEqual(tree.prove([0]).siblings, []);
    verifyMultiProof(tree.root, { treeSize: 1, indices: [0], siblings: [] }, [a!]);
  });
});
