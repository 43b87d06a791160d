/**
 * The transparency-log verifiers against (1) the RFC 6962 test vectors of the Certificate Transparency
 * project and (2) proofs computed straight from the RFC 6962 §2.1 definitions by an independent,
 * deliberately naive implementation in this file: every proof verifies, every tampered proof, leaf,
 * root, index or size fails — except where RFC 9162 §2.1.3.2 / §2.1.4.2 provably cannot tell two sizes
 * apart (identical proof shapes), which a signed tree head rules out by binding size and root. Tree
 * heads verify only under the trusted key.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import type { Attestation, BatchHeader } from "./attestation.ts";
import { encodeAttestation } from "./attestation.ts";
import { fromHex, toHex, utf8 } from "./bytes.ts";
import { TranslogError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import type { ChainId } from "./message.ts";
import { errorCode } from "./testing/mod.ts";
import {
  EMPTY_LOG_ROOT,
  leafHash,
  logLeafData,
  logPublicKey,
  logRoot,
  nodeHash,
  signTreeHead,
  treeHeadBytes,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
} from "./translog.ts";

// ---- Reference implementation: RFC 6962 §2.1 MTH, §2.1.1 PATH, §2.1.2 PROOF/SUBPROOF, by recursion on slices.

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
const proof = (m: number, d: Uint8Array[]) => (m === 0 || m === d.length ? [] : subproof(m, d, true));

/**
 * The shape of PATH(m, D[n]): which side each sibling is on. The RFC 9162 verifiers compute from the
 * shape, the proof and the leaf (or old root) alone, so a proof made for one (index, size) verifies for
 * another exactly when the shapes agree.
 */
function pathShape(m: number, n: number): string {
  if (n <= 1) return "";
  const k = split(n);
  return m < k ? `${pathShape(m, k)}R` : `${pathShape(m - k, n - k)}L`;
}
/** The shape of SUBPROOF(m, D[n], b); `S` marks the old subtree itself as the first proof element. */
function proofShape(m: number, n: number, b = true): string {
  if (m === n) return b ? "" : "S";
  const k = split(n);
  return m <= k ? `${proofShape(m, k, b)}R` : `${proofShape(m - k, n - k, false)}L`;
}

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(utf8(`leaf ${i}`)));
const flip = (h: Uint8Array, at = 0, bit = 1) => {
  const c = Uint8Array.from(h);
  c[at % c.length]! ^= bit;
  return c;
};
/** "passed", or the code of the TranslogError thrown (anything else fails the test). */
const outcome = (f: () => void) => {
  try {
    f();
    return "passed";
  } catch (e) {
    assert.ok(e instanceof TranslogError, String(e));
    return e.code;
  }
};

// ---- RFC 6962 vectors.
// Source: the Certificate Transparency project's Merkle tree tests (google/certificate-transparency,
// cpp/merkletree/merkle_tree_test.cc), as carried on in transparency-dev/merkle, proof/verify_test.go
// (`leaves`, `roots`, `inclusionProofs`, `consistencyProofs`). Leaf indices there are 1-based; here 0-based.

const TEST_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map((h) =>
  fromHex(h),
);
const TEST_ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const TEST_INCLUSION: { index: number; size: number; path: string[] }[] = [
  { index: 0, size: 1, path: [] },
  {
    index: 0,
    size: 8,
    path: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    path: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  { index: 2, size: 3, path: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    index: 1,
    size: 5,
    path: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];
const TEST_CONSISTENCY: { from: number; to: number; proof: string[] }[] = [
  { from: 1, to: 1, proof: [] },
  {
    from: 1,
    to: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    from: 6,
    to: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    from: 2,
    to: 5,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    from: 6,
    to: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];
const vectorLeafHashes = TEST_LEAVES.map(leafHash);
const vectorRoot = (size: number) => fromHex(TEST_ROOTS[size - 1]!);
const SOME_HASH = fromHex("abacaba000000000000000000000000000000000000000000060061e00123456");

test("RFC 6962 vectors: empty-tree hash and the roots of sizes 1..8", () => {
  assert.equal(toHex(EMPTY_LOG_ROOT), "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.deepEqual(logRoot([]), EMPTY_LOG_ROOT);
  for (let n = 1; n <= 8; n++) {
    assert.deepEqual(logRoot(vectorLeafHashes.slice(0, n)), vectorRoot(n), `size ${n}`);
    assert.deepEqual(mth(vectorLeafHashes.slice(0, n)), vectorRoot(n), `reference, size ${n}`);
  }
});

test("RFC 6962 vectors: inclusion proofs verify, equal the reference PATH, and every corruption fails", () => {
  for (const v of TEST_INCLUSION) {
    const p = v.path.map((h) => fromHex(h));
    const [leaf, root, m, n] = [vectorLeafHashes[v.index]!, vectorRoot(v.size), BigInt(v.index), BigInt(v.size)];
    assert.deepEqual(path(v.index, vectorLeafHashes.slice(0, v.size)), p);
    assert.equal(
      outcome(() => verifyInclusion(leaf, m, n, p, root)),
      "passed",
    );
    const probes: [string, () => void][] = [
      ["index - 1", () => verifyInclusion(leaf, m - 1n, n, p, root)],
      ["index + 1", () => verifyInclusion(leaf, m + 1n, n, p, root)],
      ["index ^ 2", () => verifyInclusion(leaf, m ^ 2n, n, p, root)],
      ["size * 2", () => verifyInclusion(leaf, m, n * 2n, p, root)],
      ["size / 2", () => verifyInclusion(leaf, m, n / 2n, p, root)],
      ["wrong leaf", () => verifyInclusion(SOME_HASH, m, n, p, root)],
      ["empty root", () => verifyInclusion(leaf, m, n, p, EMPTY_LOG_ROOT)],
      ["random root", () => verifyInclusion(leaf, m, n, p, SOME_HASH)],
      ["trailing root", () => verifyInclusion(leaf, m, n, [...p, root], root)],
      ["preceding root", () => verifyInclusion(leaf, m, n, [root, ...p], root)],
      ["short leaf", () => verifyInclusion(leaf.subarray(1), m, n, p, root)],
      ["trailing garbage", () => verifyInclusion(leaf, m, n, [...p, new Uint8Array(0)], root)],
      ...p.map((_, i): [string, () => void] => [
        `proof[${i}] bit 3`,
        () => verifyInclusion(leaf, m, n, p.with(i, flip(p[i]!, 0, 8)), root),
      ]),
    ];
    if (p.length > 0) probes.push(["removed element", () => verifyInclusion(leaf, m, n, p.slice(0, -1), root)]);
    if (p.length > 1) probes.push(["inserted element", () => verifyInclusion(leaf, m, n, [p[0]!, SOME_HASH, ...p.slice(1)], root)]);
    for (const [what, f] of probes) assert.notEqual(outcome(f), "passed", `${v.index}/${v.size}: ${what}`);
  }
});

test("RFC 6962 vectors: consistency proofs verify, equal the reference PROOF, and every corruption fails", () => {
  for (const v of TEST_CONSISTENCY) {
    const p = v.proof.map((h) => fromHex(h));
    const [m, n, r1, r2] = [BigInt(v.from), BigInt(v.to), vectorRoot(v.from), vectorRoot(v.to)];
    assert.deepEqual(proof(v.from, vectorLeafHashes.slice(0, v.to)), p);
    assert.equal(
      outcome(() => verifyConsistency(m, n, r1, r2, p)),
      "passed",
    );
    if (p.length === 0) continue;
    const probes: [string, () => void][] = [
      ["size1 - 1", () => verifyConsistency(m - 1n, n, r1, r2, p)],
      ["size1 + 1", () => verifyConsistency(m + 1n, n, r1, r2, p)],
      ["size1 ^ 2", () => verifyConsistency(m ^ 2n, n, r1, r2, p)],
      ["size2 * 2", () => verifyConsistency(m, n * 2n, r1, r2, p)],
      ["size2 / 2", () => verifyConsistency(m, n / 2n, r1, r2, p)],
      ["wrong root1", () => verifyConsistency(m, n, SOME_HASH, r2, p)],
      ["wrong root2", () => verifyConsistency(m, n, r1, SOME_HASH, p)],
      ["swapped roots", () => verifyConsistency(m, n, r2, r1, p)],
      ["empty proof", () => verifyConsistency(m, n, r1, r2, [])],
      ["trailing root1", () => verifyConsistency(m, n, r1, r2, [...p, r1])],
      ["trailing root2", () => verifyConsistency(m, n, r1, r2, [...p, r2])],
      ["preceding root1", () => verifyConsistency(m, n, r1, r2, [r1, ...p])],
      ["preceding root2", () => verifyConsistency(m, n, r1, r2, [r2, ...p])],
      ["preceding proof[0]", () => verifyConsistency(m, n, r1, r2, [p[0]!, ...p])],
      ["truncated proof", () => verifyConsistency(m, n, r1, r2, p.slice(0, -1))],
      ["trailing garbage", () => verifyConsistency(m, n, r1, r2, [...p, new Uint8Array(0)])],
      ...p.map((_, i): [string, () => void] => [`proof[${i}] bit 4`, () => verifyConsistency(m, n, r1, r2, p.with(i, flip(p[i]!, 0, 16)))]),
    ];
    for (const [what, f] of probes) assert.notEqual(outcome(f), "passed", `${v.from}→${v.to}: ${what}`);
  }
});

test("degenerate sizes: empty trees, equal sizes, time travel, bad lengths", () => {
  const [r1, r2] = [vectorRoot(1), vectorRoot(2)];
  const cases: [string, () => void, string][] = [
    ["0→0, empty roots", () => verifyConsistency(0n, 0n, EMPTY_LOG_ROOT, EMPTY_LOG_ROOT, []), "passed"],
    ["0→1", () => verifyConsistency(0n, 1n, EMPTY_LOG_ROOT, r1, []), "passed"],
    ["1→1, same root", () => verifyConsistency(1n, 1n, r1, r1, []), "passed"],
    ["0→0, different roots", () => verifyConsistency(0n, 0n, EMPTY_LOG_ROOT, r1, []), "CONSISTENCY_FAILED"],
    ["1→1, different roots", () => verifyConsistency(1n, 1n, r1, r2, []), "CONSISTENCY_FAILED"],
    ["0→1, a size-0 head with a non-empty root", () => verifyConsistency(0n, 1n, r1, r1, []), "CONSISTENCY_FAILED"],
    ["0→1, non-empty proof", () => verifyConsistency(0n, 1n, EMPTY_LOG_ROOT, r1, [EMPTY_LOG_ROOT]), "CONSISTENCY_FAILED"],
    ["1→1, non-empty proof", () => verifyConsistency(1n, 1n, r1, r1, [EMPTY_LOG_ROOT]), "CONSISTENCY_FAILED"],
    ["1→0", () => verifyConsistency(1n, 0n, r1, EMPTY_LOG_ROOT, []), "CONSISTENCY_FAILED"],
    ["2→1", () => verifyConsistency(2n, 1n, r2, r1, []), "CONSISTENCY_FAILED"],
    ["-1→1", () => verifyConsistency(-1n, 1n, r1, r1, []), "CONSISTENCY_FAILED"],
    ["1→2, empty proof", () => verifyConsistency(1n, 2n, r1, r2, []), "CONSISTENCY_FAILED"],
    ["short root", () => verifyConsistency(1n, 1n, r1.subarray(1), r1, []), "BAD_HASH_LENGTH"],
    ["inclusion in the empty log", () => verifyInclusion(SOME_HASH, 0n, 0n, [], EMPTY_LOG_ROOT), "INDEX_OUT_OF_RANGE"],
    ["index past the end", () => verifyInclusion(SOME_HASH, 1n, 1n, [], SOME_HASH), "INDEX_OUT_OF_RANGE"],
    ["negative index", () => verifyInclusion(SOME_HASH, -1n, 1n, [], SOME_HASH), "INDEX_OUT_OF_RANGE"],
    ["single leaf is its root", () => verifyInclusion(SOME_HASH, 0n, 1n, [], SOME_HASH), "passed"],
    ["single leaf, path too long", () => verifyInclusion(SOME_HASH, 0n, 1n, [SOME_HASH], SOME_HASH), "INCLUSION_FAILED"],
    ["empty leaf hash", () => verifyInclusion(new Uint8Array(0), 0n, 1n, [], SOME_HASH), "BAD_HASH_LENGTH"],
  ];
  for (const [what, f, want] of cases) assert.equal(outcome(f), want, what);
});

test("inclusion and consistency for every leaf and pair of sizes up to 40, against the reference", () => {
  const all = leaves(40);
  for (let n = 1; n <= 40; n++) {
    const d = all.slice(0, n);
    const root = mth(d);
    assert.deepEqual(logRoot(d), root);
    for (let m = 0; m < n; m++) {
      assert.equal(
        outcome(() => verifyInclusion(d[m]!, BigInt(m), BigInt(n), path(m, d), root)),
        "passed",
      );
    }
    for (let m = 0; m <= n; m++) {
      assert.equal(
        outcome(() => verifyConsistency(BigInt(m), BigInt(n), mth(all.slice(0, m)), root, proof(m, d))),
        "passed",
        `${m} → ${n}`,
      );
    }
  }
});

test("property, sizes up to 300: proofs verify; a flipped byte, another index or another size fails", () => {
  const all = leaves(300);
  const roots = Array.from({ length: 301 }, (_, n) => mth(all.slice(0, n)));
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.nat(),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 0, max: 7 }),
      fc.integer({ min: 1, max: 301 }),
      (n, a, b, at, bit, other) => {
        const d = all.slice(0, n);
        const m = a % n;
        const root = roots[n]!;
        const p = path(m, d);
        const incl = (leaf: Uint8Array, i: number, size: number, pp: Uint8Array[], r: Uint8Array) =>
          outcome(() => verifyInclusion(leaf, BigInt(i), BigInt(size), pp, r));
        assert.equal(incl(d[m]!, m, n, p, root), "passed");
        assert.notEqual(incl(flip(d[m]!, at, 1 << bit), m, n, p, root), "passed");
        assert.notEqual(incl(d[m]!, m, n, p, flip(root, at, 1 << bit)), "passed");
        if (p.length > 0)
          assert.notEqual(incl(d[m]!, m, n, p.with(at % p.length, flip(p[at % p.length]!, at >> 5, 1 << bit)), root), "passed");
        // Another index never verifies; another size verifies only when RFC 9162 cannot tell the
        // two apart (the same proof shape), which a signed head binding (size, root) rules out.
        const m2 = (m + 1 + (b % n)) % n;
        if (m2 !== m) assert.notEqual(incl(d[m]!, m2, n, p, root), "passed");
        const n2 = other === n ? n + 1 : other;
        const sameShape = m < n2 && pathShape(m, n2) === pathShape(m, n);
        assert.equal(incl(d[m]!, m, n2, p, root) === "passed", sameShape, `path ${m}/${n} under size ${n2}`);

        const old = b % (n + 1);
        const c = proof(old, d);
        const cons = (m1: number, n1: number, r1: Uint8Array, r2: Uint8Array, pp: Uint8Array[]) =>
          outcome(() => verifyConsistency(BigInt(m1), BigInt(n1), r1, r2, pp));
        assert.equal(cons(old, n, roots[old]!, root, c), "passed");
        assert.notEqual(cons(old, n, flip(roots[old]!, at, 1 << bit), root, c), "passed");
        // The empty log is a prefix of every log, so only proofs from a non-empty one can be tampered with.
        if (old > 0 && old < n) {
          assert.notEqual(cons(old, n, roots[old]!, flip(root, at, 1 << bit), c), "passed");
          assert.notEqual(cons(old, n, roots[old]!, root, c.with(at % c.length, flip(c[at % c.length]!, at >> 5, 1 << bit))), "passed");
          const old2 = 1 + ((old + (at % (n - 1))) % (n - 1));
          if (old2 !== old) assert.notEqual(cons(old2, n, roots[old]!, root, c), "passed", `old size ${old2} for ${old}→${n}`);
          const n3 = n2 >= old ? n2 : n + 1;
          const same = n3 > old && proofShape(old, n3) === proofShape(old, n);
          assert.equal(cons(old, n3, roots[old]!, root, c) === "passed", same, `proof ${old}→${n} under new size ${n3}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("a rewritten history cannot be proven consistent (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 120 }), fc.nat(), (a, b, at) => {
      const [m, n] = a <= b ? [a, b] : [b, a];
      if (m === n) return;
      const honest = leaves(n);
      const rewritten = honest.with(at % m, flip(honest[at % m]!));
      // The proof from the rewritten log does not link the honest old root to the rewritten new root.
      assert.equal(
        outcome(() => verifyConsistency(BigInt(m), BigInt(n), mth(honest.slice(0, m)), mth(rewritten), proof(m, rewritten))),
        "CONSISTENCY_FAILED",
      );
    }),
  );
});

test("leaf data bytes follow the layout of docs/protocol.md §12.1", () => {
  const header: BatchHeader = {
    sourceChainId: 0x0102n as ChainId,
    destinationChainId: 0x0304n as ChainId,
    firstNonce: 5n,
    lastNonce: 9n,
    root: new Uint8Array(32).fill(0xaa),
  };
  const att: Attestation = {
    epoch: 7n,
    committeeSetHash: new Uint8Array(32).fill(0xbb),
    signers: Uint8Array.of(0b101),
    signature: new Uint8Array(96).fill(0xcc),
  };
  const data = logLeafData(header, att);
  assert.equal(
    toHex(data.subarray(0, 83)),
    `${toHex(utf8("SHANDU-TLOG-LEAF-v1"))}0000000000000102000000000000030400000000000000050000000000000009${"aa".repeat(32)}`,
  );
  assert.deepEqual(data.subarray(83), encodeAttestation(att));
  assert.equal(
    errorCode(() => logLeafData({ ...header, root: new Uint8Array(31) }, att)),
    "BAD_HASH_LENGTH",
  );
  assert.equal(
    errorCode(() => logLeafData({ ...header, firstNonce: -1n }, att)),
    "NONCE_RANGE_INVALID",
  );
  assert.equal(
    errorCode(() => logLeafData({ ...header, lastNonce: 2n ** 64n }, att)),
    "NONCE_RANGE_INVALID",
  );
});

test("tree heads: the signed bytes, and verification under the trusted log key only", () => {
  const sk = new Uint8Array(32).fill(3);
  const pk = logPublicKey(sk);
  assert.deepEqual(pk, ed25519.getPublicKey(sk));
  const head = { treeSize: 5n, rootHash: vectorRoot(5), timestampMs: 1_790_000_000_000n };
  assert.equal(toHex(treeHeadBytes(head)), `${toHex(utf8("SHANDU-TLOG-STH-v1"))}0000000000000005000001a0c4506c00${TEST_ROOTS[4]}`);
  const sth = { ...head, signature: signTreeHead(sk, head), publicKey: pk };
  assert.ok(ed25519.verify(sth.signature, treeHeadBytes(head), pk));
  const other = logPublicKey(new Uint8Array(32).fill(4));
  const cases: [string, () => void, string][] = [
    ["genuine", () => verifyTreeHead(sth, pk), "passed"],
    ["another size", () => verifyTreeHead({ ...sth, treeSize: 6n }, pk), "BAD_TREE_HEAD_SIGNATURE"],
    ["another time", () => verifyTreeHead({ ...sth, timestampMs: head.timestampMs + 1n }, pk), "BAD_TREE_HEAD_SIGNATURE"],
    ["another root", () => verifyTreeHead({ ...sth, rootHash: flip(sth.rootHash) }, pk), "BAD_TREE_HEAD_SIGNATURE"],
    ["flipped signature", () => verifyTreeHead({ ...sth, signature: flip(sth.signature, 40) }, pk), "BAD_TREE_HEAD_SIGNATURE"],
    ["short signature", () => verifyTreeHead({ ...sth, signature: sth.signature.subarray(1) }, pk), "BAD_TREE_HEAD_SIGNATURE"],
    ["size beyond u64", () => verifyTreeHead({ ...sth, treeSize: 2n ** 64n + 5n }, pk), "BAD_TREE_HEAD_SIGNATURE"],
    ["short root", () => verifyTreeHead({ ...sth, rootHash: sth.rootHash.subarray(1) }, pk), "BAD_HASH_LENGTH"],
    ["head names another key", () => verifyTreeHead({ ...sth, publicKey: other }, pk), "UNTRUSTED_LOG_KEY"],
    ["another key signed it", () => verifyTreeHead({ ...sth, publicKey: other }, other), "BAD_TREE_HEAD_SIGNATURE"],
  ];
  for (const [what, f, want] of cases) assert.equal(outcome(f), want, what);
  assert.equal(
    errorCode(() => signTreeHead(sk.subarray(1), head)),
    "BAD_LENGTH",
  );
  assert.equal(
    errorCode(() => treeHeadBytes({ ...head, timestampMs: -1n })),
    "VALUE_OUT_OF_RANGE",
  );
});
