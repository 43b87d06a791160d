import assert from "node:assert/strict";
import { test } from "node:test";
import { concatBytes } from "../bytes.ts";
import { FiscoError } from "../errors.ts";
import { keccak256 } from "./crypto.ts";
import { fiscoMerkleProof, fiscoMerkleRoot, verifyFiscoMerkleProof } from "./merkle.ts";
import { sm3 } from "./sm3.ts";

const leaves = (n: number) => Array.from({ length: n }, (_, i) => keccak256(Uint8Array.of(i)));
const code = (f: () => unknown) => {
  try {
    f();
    return "passed";
  } catch (e) {
    assert.ok(e instanceof FiscoError);
    return e.code;
  }
};

test("the tree follows the node's definition: pairs hashed, a lone last node hashed alone", () => {
  const [a, b, c] = leaves(3) as [Uint8Array, Uint8Array, Uint8Array];
  assert.deepEqual(fiscoMerkleRoot([a], keccak256), a);
  assert.deepEqual(fiscoMerkleRoot([a, b], keccak256), keccak256(concatBytes(a, b)));
  assert.deepEqual(fiscoMerkleRoot([a, b, c], keccak256), keccak256(concatBytes(keccak256(concatBytes(a, b)), keccak256(c))));
});

test("every leaf of every size up to 33 proves, with both hashes; positions give the index", () => {
  for (const hash of [keccak256, sm3]) {
    for (let n = 1; n <= 33; n++) {
      const l = leaves(n);
      const root = fiscoMerkleRoot(l, hash);
      for (let i = 0; i < n; i++) {
        const positions = verifyFiscoMerkleProof(fiscoMerkleProof(l, i, hash), l[i]!, root, hash);
        assert.equal(
          positions.reduce((acc, p, level) => acc + p * 2 ** level, 0),
          i,
        );
      }
    }
  }
});

test("proofs for another root, another leaf, or in a bent shape are refused", () => {
  const l = leaves(9);
  const root = fiscoMerkleRoot(l, keccak256);
  const proof = fiscoMerkleProof(l, 4, keccak256);
  const other = fiscoMerkleRoot(leaves(10), keccak256);
  assert.equal(
    code(() => verifyFiscoMerkleProof(proof, l[4]!, other, keccak256)),
    "MERKLE_PROOF_INVALID",
  );
  assert.equal(
    code(() => verifyFiscoMerkleProof(proof, l[5]!, root, keccak256)),
    "passed",
    "its sibling is in the same group",
  );
  assert.equal(
    code(() => verifyFiscoMerkleProof(proof, l[6]!, root, keccak256)),
    "MERKLE_PROOF_INVALID",
  );
  assert.equal(
    code(() => verifyFiscoMerkleProof(proof, l[4]!, root, sm3)),
    "MERKLE_PROOF_INVALID",
    "the other chain's hash",
  );
  const bigCount = [Uint8Array.of(0, 0, 0, 3), ...proof.slice(1)];
  assert.equal(
    code(() => verifyFiscoMerkleProof(bigCount, l[4]!, root, keccak256)),
    "MERKLE_PROOF_INVALID",
  );
  assert.equal(
    code(() => verifyFiscoMerkleProof(proof.slice(0, -3), l[4]!, root, keccak256)),
    "MERKLE_PROOF_INVALID",
  );
  assert.equal(
    code(() => verifyFiscoMerkleProof([], l[4]!, root, keccak256)),
    "MERKLE_PROOF_INVALID",
  );
});
