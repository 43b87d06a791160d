/**
 * The transparency-log verifiers against proofs computed straight from the RFC 6962 definitions (an
 * independent, deliberately naive implementation in this file), for every size up to 40; tampered
 * proofs, indices and sizes fail; tree heads verify only under the trusted key.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import { utf8 } from "./bytes.ts";
import { TranslogError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import {
  EMPTY_LOG_ROOT,
  leafHash,
  logRoot,
  nodeHash,
  signTreeHead,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
} from "./translog.ts";

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(utf8(`leaf ${i}`)));
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha256(new Uint8Array(0));
  if (d.length === 1) return d[0]!;
  const k = split(d.length);
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}
function path(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function subproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))] : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}
const flip = (h: Uint8Array) => {
  const c = Uint8Array.from(h);
  c[0]! ^= 1;
  return c;
};
const code = (f: () => void) => {
  try {
    f();
    return "passed";
  } catch (e) {
    assert.ok(e instanceof TranslogError, String(e));
    return e.code;
  }
};

test("the root, including the RFC 6962 empty-tree hash, matches the definition", () => {
  assert.deepEqual(EMPTY_LOG_ROOT, sha256(new Uint8Array(0)));
  for (let n = 0; n <= 40; n++) assert.deepEqual(logRoot(leaves(n)), mth(leaves(n)));
  // Leaf and node hashes are domain-separated: a node is never a leaf of the same bytes.
  const [a, b] = leaves(2);
  assert.notDeepEqual(nodeHash(a!, b!), leafHash(new Uint8Array([...a!, ...b!])));
});

test("inclusion proofs verify for every leaf of every size up to 40, and fail when tampered", () => {
  for (let n = 1; n <= 40; n++) {
    const d = leaves(n);
    const root = mth(d);
    for (let m = 0; m < n; m++) {
      const p = path(m, d);
      assert.equal(
        code(() => verifyInclusion(d[m]!, BigInt(m), BigInt(n), p, root)),
        "passed",
      );
      if (n > 1) {
        assert.equal(
          code(() => verifyInclusion(d[m]!, BigInt((m + 1) % n), BigInt(n), p, root)),
          "INCLUSION_FAILED",
        );
        assert.equal(
          code(() => verifyInclusion(flip(d[m]!), BigInt(m), BigInt(n), p, root)),
          "INCLUSION_FAILED",
        );
        assert.equal(
          code(() => verifyInclusion(d[m]!, BigInt(m), BigInt(n), [...p.slice(0, -1), flip(p.at(-1)!)], root)),
          "INCLUSION_FAILED",
        );
        assert.equal(
          code(() => verifyInclusion(d[m]!, BigInt(m), BigInt(n), p.slice(1), root)),
          "INCLUSION_FAILED",
        );
      }
    }
    assert.equal(
      code(() => verifyInclusion(d[0]!, BigInt(n), BigInt(n), [], root)),
      "INDEX_OUT_OF_RANGE",
    );
  }
});

test("consistency proofs verify for every pair of sizes up to 40, and fail when tampered", () => {
  const all = leaves(40);
  for (let n = 1; n <= 40; n++) {
    for (let m = 1; m <= n; m++) {
      const proof = m === n ? [] : subproof(m, all.slice(0, n), true);
      const oldRoot = mth(all.slice(0, m));
      const newRoot = mth(all.slice(0, n));
      assert.equal(
        code(() => verifyConsistency(BigInt(m), BigInt(n), oldRoot, newRoot, proof)),
        "passed",
        `${m} → ${n}`,
      );
      if (m < n) {
        assert.equal(
          code(() => verifyConsistency(BigInt(m), BigInt(n), flip(oldRoot), newRoot, proof)),
          "CONSISTENCY_FAILED",
        );
        assert.equal(
          code(() => verifyConsistency(BigInt(m), BigInt(n), oldRoot, flip(newRoot), proof)),
          "CONSISTENCY_FAILED",
        );
        if (proof.length > 0) {
          assert.equal(
            code(() => verifyConsistency(BigInt(m), BigInt(n), oldRoot, newRoot, [flip(proof[0]!), ...proof.slice(1)])),
            "CONSISTENCY_FAILED",
          );
        }
        assert.equal(
          code(() => verifyConsistency(BigInt(n), BigInt(m), newRoot, oldRoot, proof)),
          "CONSISTENCY_FAILED",
        );
      }
    }
  }
});

test("a rewritten history cannot be proven consistent (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 }), fc.nat(), (a, b, at) => {
      const [m, n] = a <= b ? [a, b] : [b, a];
      if (m === n) return;
      const honest = leaves(n);
      const rewritten = [...honest];
      const i = at % m;
      rewritten[i] = flip(rewritten[i]!);
      // The proof from the rewritten log does not link the honest old root to the rewritten new root.
      const proof = subproof(m, rewritten, true);
      assert.equal(
        code(() => verifyConsistency(BigInt(m), BigInt(n), mth(honest.slice(0, m)), mth(rewritten), proof)),
        "CONSISTENCY_FAILED",
      );
    }),
  );
});

test("tree heads verify under the trusted log key only", () => {
  const sk = new Uint8Array(32).fill(3);
  const pk = ed25519.getPublicKey(sk);
  const head = { treeSize: 5n, rootHash: mth(leaves(5)), timestampMs: 1_790_000_000_000n };
  const sth = { ...head, signature: signTreeHead(sk, head), publicKey: pk };
  assert.equal(
    code(() => verifyTreeHead(sth, pk)),
    "passed",
  );
  assert.equal(
    code(() => verifyTreeHead({ ...sth, treeSize: 6n }, pk)),
    "BAD_TREE_HEAD_SIGNATURE",
  );
  assert.equal(
    code(() => verifyTreeHead({ ...sth, rootHash: flip(sth.rootHash) }, pk)),
    "BAD_TREE_HEAD_SIGNATURE",
  );
  const other = ed25519.getPublicKey(new Uint8Array(32).fill(4));
  assert.equal(
    code(() => verifyTreeHead({ ...sth, publicKey: other }, pk)),
    "UNTRUSTED_LOG_KEY",
  );
});
