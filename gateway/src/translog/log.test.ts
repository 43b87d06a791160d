/** The server-side log's roots and proofs check out with the auditor's verifiers in `@shandu/proofs`. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { leafHash, logRoot, verifyConsistency, verifyInclusion } from "@shandu/proofs";
import { MerkleLog } from "./log.ts";

const leaf = (i: number) => leafHash(new TextEncoder().encode(`batch ${i}`));

test("roots of every size equal the definition; proofs verify", () => {
  const hashes = Array.from({ length: 130 }, (_, i) => leaf(i));
  const log = MerkleLog.fromLeafHashes(hashes);
  assert.equal(log.size, 130n);
  for (let n = 0; n <= 130; n++) assert.deepEqual(log.root(BigInt(n)), logRoot(hashes.slice(0, n)));
  for (const n of [1, 2, 3, 7, 8, 9, 64, 100, 130]) {
    const root = log.root(BigInt(n));
    for (let m = 0; m < n; m++) verifyInclusion(hashes[m]!, BigInt(m), BigInt(n), log.inclusionProof(BigInt(m), BigInt(n)), root);
    for (let m = 0; m <= n; m++)
      verifyConsistency(BigInt(m), BigInt(n), log.root(BigInt(m)), root, log.consistencyProof(BigInt(m), BigInt(n)));
  }
});

test("appends stay cheap: 200,000 leaves, then the root", () => {
  const log = new MerkleLog();
  const h = leaf(0);
  for (let i = 0; i < 200_000; i++) log.append(h);
  assert.equal(log.root().length, 32);
  assert.equal(log.inclusionProof(123_456n, 200_000n).length, 18);
});

test("sizes and indices beyond the log are NOT_FOUND", () => {
  const log = MerkleLog.fromLeafHashes([leaf(0), leaf(1)]);
  assert.throws(() => log.root(3n), { code: "NOT_FOUND" });
  assert.throws(() => log.inclusionProof(2n, 2n), { code: "NOT_FOUND" });
  assert.throws(() => log.consistencyProof(1n, 3n), { code: "NOT_FOUND" });
});
