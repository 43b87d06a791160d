/**
 * The server-side log's roots and proofs: equal to the RFC 6962 vectors, equal to the definition for
 * every size up to 1000, and accepted by the auditor's verifiers in `@shandu/proofs`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, leafHash, logRoot, toHex, verifyConsistency, verifyInclusion } from "@shandu/proofs";
import fc from "fast-check";
import { MerkleLog } from "./log.ts";

const leaf = (i: number) => leafHash(new TextEncoder().encode(`batch ${i}`));
const HASHES = Array.from({ length: 1000 }, (_, i) => leaf(i));
const LOG = MerkleLog.fromLeafHashes(HASHES);

test("RFC 6962 vectors: roots, PATH and PROOF of the Certificate Transparency test leaves", () => {
  // Source: google/certificate-transparency cpp/merkletree/merkle_tree_test.cc, as carried on in
  // transparency-dev/merkle proof/verify_test.go (the full set is checked in proofs/src/translog.test.ts).
  const data = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
  const log = MerkleLog.fromLeafHashes(data.map((h) => leafHash(fromHex(h))));
  assert.equal(toHex(log.root(1n)), "0x6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  assert.equal(toHex(log.root(5n)), "0x4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4");
  assert.equal(toHex(log.root()), "0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  assert.deepEqual(log.inclusionProof(5n, 8n).map(toHex), [
    "0xbc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "0xca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "0xd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  ]);
  assert.deepEqual(log.consistencyProof(6n, 7n).map(toHex), [
    "0x0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "0xb08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "0xd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  ]);
  assert.deepEqual(log.consistencyProof(2n, 5n).map(toHex), [
    "0x5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0xbc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
  ]);
});

test("the root of every size up to 1000 equals the definition, appending one leaf at a time", () => {
  const log = new MerkleLog();
  assert.deepEqual(log.root(), logRoot([]));
  for (let n = 1; n <= 1000; n++) {
    assert.equal(log.append(HASHES[n - 1]!), BigInt(n - 1));
    assert.deepEqual(log.root(), logRoot(HASHES.slice(0, n)), `size ${n}`);
  }
  for (const n of [0, 1, 2, 3, 255, 256, 257, 511, 999]) assert.deepEqual(LOG.root(BigInt(n)), logRoot(HASHES.slice(0, n)));
});

test("every inclusion and consistency proof verifies for sizes up to 130", () => {
  for (let n = 1; n <= 130; n++) {
    const root = LOG.root(BigInt(n));
    for (let m = 0; m < n; m++) verifyInclusion(HASHES[m]!, BigInt(m), BigInt(n), LOG.inclusionProof(BigInt(m), BigInt(n)), root);
    for (let m = 0; m <= n; m++)
      verifyConsistency(BigInt(m), BigInt(n), LOG.root(BigInt(m)), root, LOG.consistencyProof(BigInt(m), BigInt(n)));
  }
});

test("property, sizes up to 1000: proofs from the builder verify, and fail for another leaf or root", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.nat(), fc.nat(), (n, a, b) => {
      const [size, index, old] = [BigInt(n), BigInt(a % n), BigInt(b % (n + 1))];
      const root = LOG.root(size);
      const path = LOG.inclusionProof(index, size);
      verifyInclusion(LOG.leaf(index), index, size, path, root);
      assert.throws(() => verifyInclusion(leaf(-1), index, size, path, root), { code: "INCLUSION_FAILED" });
      const proof = LOG.consistencyProof(old, size);
      verifyConsistency(old, size, LOG.root(old), root, proof);
      if (old > 0n && old < size)
        assert.throws(() => verifyConsistency(old, size, LOG.root(old), LOG.root(old), proof), { code: "CONSISTENCY_FAILED" });
    }),
    { numRuns: 500 },
  );
});

test("appends stay cheap: 100,000 leaves, then the root and a proof", () => {
  // Quadratic work would take minutes here; the linear builder takes well under a second.
  const log = new MerkleLog();
  const hashes = Array.from({ length: 100_000 }, (_, i) => leaf(i));
  for (const h of hashes) log.append(h);
  const root = log.root();
  assert.equal(log.size, 100_000n);
  const path = log.inclusionProof(65_537n, 100_000n);
  assert.equal(path.length, 17);
  verifyInclusion(hashes[65_537]!, 65_537n, 100_000n, path, root);
  verifyConsistency(99_999n, 100_000n, log.root(99_999n), root, log.consistencyProof(99_999n, 100_000n));
});

test("sizes and indices beyond the log are NOT_FOUND; a leaf hash is 32 bytes", () => {
  const log = MerkleLog.fromLeafHashes([leaf(0), leaf(1)]);
  assert.throws(() => log.root(3n), { code: "NOT_FOUND" });
  assert.throws(() => log.root(-1n), { code: "NOT_FOUND" });
  assert.throws(() => log.leaf(2n), { code: "NOT_FOUND" });
  assert.throws(() => log.leaf(-1n), { code: "NOT_FOUND" });
  assert.throws(() => log.inclusionProof(2n, 2n), { code: "NOT_FOUND" });
  assert.throws(() => log.inclusionProof(-1n, 2n), { code: "NOT_FOUND" });
  assert.throws(() => log.inclusionProof(0n, 3n), { code: "NOT_FOUND" });
  assert.throws(() => log.consistencyProof(1n, 3n), { code: "NOT_FOUND" });
  assert.throws(() => log.consistencyProof(2n, 1n), { code: "NOT_FOUND" });
  assert.throws(() => log.append(new Uint8Array(31)), { code: "INVALID_REQUEST" });
  assert.equal(log.size, 2n);
});
