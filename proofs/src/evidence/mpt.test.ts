import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keccak_256 } from "@noble/hashes/sha3.js";
import fc from "fast-check";
import { bytesEqual, concatBytes, toHex, utf8 } from "../bytes.ts";
import { EvidenceError } from "../errors.ts";
import { buildTrie, EMPTY_TRIE_ROOT, indexedTrie, indexKey, trieRoot, verifyTrieProof } from "./mpt.ts";
import { type RlpItem, rlpDecode, rlpEncode } from "./rlp.ts";

const kv = (pairs: [string, string][]) => pairs.map(([k, v]) => [utf8(k), utf8(v)] as const);

/** The `reason` of the TRIE_PROOF_INVALID that `f` throws. */
function proofFailure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof EvidenceError, String(e));
    assert.equal(e.code, "TRIE_PROOF_INVALID", e.message);
    return String(e.facts.reason);
  }
  throw new Error("the proof verified");
}

const flip = (b: Uint8Array, i: number) => {
  const c = Uint8Array.from(b);
  c[i] = (c[i] ?? 0) ^ 1;
  return c;
};

/** Kinds of node on the path of a proof (inline nodes included). */
function nodeKinds(proof: Uint8Array[]): Set<string> {
  const kinds = new Set<string>();
  const visit = (n: RlpItem) => {
    if (!Array.isArray(n)) return;
    if (n.length === 17) {
      kinds.add("branch");
      n.forEach((c) => {
        if (Array.isArray(c)) kinds.add("inline");
        visit(c);
      });
    } else if (n.length === 2) {
      const flag = (n[0] as Uint8Array)[0]! >> 4;
      kinds.add(flag >= 2 ? "leaf" : "extension");
      if (Array.isArray(n[1])) {
        kinds.add("inline");
        visit(n[1]);
      }
    }
  };
  for (const p of proof) visit(rlpDecode(p));
  return kinds;
}

describe("Merkle-Patricia trie", () => {
  it("computes Ethereum's roots", () => {
    assert.equal(toHex(EMPTY_TRIE_ROOT), "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");
    assert.deepEqual(trieRoot([]), EMPTY_TRIE_ROOT);
    assert.deepEqual(indexedTrie([]).root, EMPTY_TRIE_ROOT);
    // go-ethereum trie/trie_test.go TestInsert and TestDelete
    assert.equal(
      toHex(
        trieRoot(
          kv([
            ["doe", "reindeer"],
            ["dog", "puppy"],
            ["dogglesworth", "cat"],
          ]),
        ),
      ),
      "0x8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3",
    );
    assert.equal(toHex(trieRoot(kv([["A", "a".repeat(50)]]))), "0xd23786fb4a010da3ce639d66d5e904a11dbc02746d1ce25029e53290cabf28ab");
    const deleted = kv([
      ["do", "verb"],
      ["ether", "wookiedoo"],
      ["horse", "stallion"],
      ["shaman", "horse"],
      ["doge", "coin"],
      ["ether", ""],
      ["dog", "puppy"],
      ["shaman", ""],
    ]);
    assert.equal(toHex(trieRoot(deleted)), "0x5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84");
  });

  it("does not depend on insertion order", () => {
    const entries = kv([
      ["do", "verb"],
      ["dog", "puppy"],
      ["doge", "coin"],
      ["horse", "stallion"],
    ]);
    assert.deepEqual(trieRoot(entries), trieRoot([...entries].reverse()));
  });

  it("proves every key, and the absence of others, in the tries it builds", () => {
    const arbKey = fc.uint8Array({ minLength: 0, maxLength: 6 }).map((k) => (k.length > 0 ? k : Uint8Array.of(7)));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbKey, fc.uint8Array({ minLength: 1, maxLength: 40 })), { minLength: 1, maxLength: 40 }),
        fc.array(arbKey, { maxLength: 10 }),
        (entries, others) => {
          const trie = buildTrie(entries);
          const expected = new Map(entries.map(([k, v]) => [toHex(k), v]));
          for (const [k] of entries) assert.deepEqual(verifyTrieProof(trie.root, k, trie.prove(k)), expected.get(toHex(k)));
          for (const k of others) assert.deepEqual(verifyTrieProof(trie.root, k, trie.prove(k)), expected.get(toHex(k)) ?? null);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("builds the transactions/receipts trie of blocks of every size, with inline, branch and extension nodes", () => {
    const seen = new Set<string>();
    for (const n of [1, 2, 3, 16, 17, 40, 129, 300]) {
      for (const size of [3, 40]) {
        const values = Array.from({ length: n }, (_, i) => keccak_256(Uint8Array.of(i & 255, i >> 8, size)).subarray(0, size));
        const trie = indexedTrie(values);
        for (let i = 0; i < n; i++) {
          const proof = trie.prove(indexKey(i));
          assert.deepEqual(verifyTrieProof(trie.root, indexKey(i), proof), values[i], `n=${n} i=${i}`);
          for (const k of nodeKinds(proof)) seen.add(k);
        }
        assert.equal(verifyTrieProof(trie.root, indexKey(n), trie.prove(indexKey(n))), null);
      }
    }
    assert.deepEqual([...seen].sort(), ["branch", "extension", "inline", "leaf"]);
  });

  it("proves absence in the empty trie only with no nodes", () => {
    assert.equal(verifyTrieProof(EMPTY_TRIE_ROOT, indexKey(0), []), null);
    assert.equal(
      proofFailure(() => verifyTrieProof(EMPTY_TRIE_ROOT, indexKey(0), [Uint8Array.of(0x80)])),
      "not a trie node",
    );
    assert.equal(
      proofFailure(() => verifyTrieProof(keccak_256(utf8("x")), indexKey(0), [])),
      "the proof has no nodes",
    );
  });

  it("rejects a change to any byte of any node, a missing node and an extra node", () => {
    const values = Array.from({ length: 40 }, (_, i) => keccak_256(Uint8Array.of(i)));
    const trie = indexedTrie(values);
    const key = indexKey(21);
    const proof = trie.prove(key);
    assert.ok(proof.length >= 2);
    for (let n = 0; n < proof.length; n++) {
      for (let i = 0; i < proof[n]!.length; i++) {
        const tampered = proof.map((p, j) => (j === n ? flip(p, i) : p));
        assert.equal(
          proofFailure(() => verifyTrieProof(trie.root, key, tampered)),
          "node does not hash to its reference",
          `node ${n} byte ${i}`,
        );
      }
    }
    assert.equal(
      proofFailure(() => verifyTrieProof(trie.root, key, proof.slice(0, -1))),
      "the proof ends before the path does",
    );
    assert.equal(
      proofFailure(() => verifyTrieProof(trie.root, key, proof.slice(1))),
      "node does not hash to its reference",
    );
    const extra = [...proof, trie.prove(indexKey(3)).at(-1)!];
    assert.equal(
      proofFailure(() => verifyTrieProof(trie.root, key, extra)),
      "the proof has nodes the path does not use",
    );
    assert.equal(
      proofFailure(() => verifyTrieProof(flip(trie.root, 0), key, proof)),
      "node does not hash to its reference",
    );
    // another key's proof does not prove this key
    assert.notEqual(
      proofFailure(() => verifyTrieProof(trie.root, indexKey(22), proof)),
      "",
    );
  });

  it("rejects nodes that are not in canonical form", () => {
    const hashOf = (n: RlpItem) => keccak_256(rlpEncode(n));
    const empty = new Uint8Array(0);
    const branch = (children: Record<number, RlpItem>, value: Uint8Array = empty): RlpItem[] =>
      Array.from({ length: 17 }, (_, i) => (i === 16 ? value : (children[i] ?? empty)));
    const long = new Uint8Array(40).fill(0xaa);
    const leaf = (hp: number[], value: Uint8Array): RlpItem => [Uint8Array.from(hp), value];
    const verifyRoot = (nodes: RlpItem[], key: Uint8Array) => verifyTrieProof(hashOf(nodes[0]!), key, nodes.map(rlpEncode));

    // sanity: a well-formed branch with two hashed leaves verifies
    // leaves with the one-nibble path [0], so key 0x10 reaches l1 through branch slot 1
    const l1 = leaf([0x30], long);
    const l2 = leaf([0x30], concatBytes(long, long));
    assert.deepEqual(verifyRoot([branch({ 1: hashOf(l1), 2: hashOf(l2) }), l1], Uint8Array.of(0x10)), long);

    const short = leaf([0x30], utf8("x"));
    assert.equal(
      proofFailure(() => verifyRoot([branch({ 1: hashOf(short), 2: hashOf(l2) }), short], Uint8Array.of(0x10))),
      "a node shorter than 32 bytes is referenced by hash",
    );
    assert.equal(
      proofFailure(() => verifyRoot([branch({ 1: l1, 2: hashOf(l2) })], Uint8Array.of(0x10))),
      "an inline node is 32 bytes or longer",
    );
    assert.equal(
      proofFailure(() => verifyRoot([branch({ 1: hashOf(l1) }), l1], Uint8Array.of(0x10))),
      "a branch has fewer than two entries",
    );
    assert.equal(
      proofFailure(() => verifyRoot([branch({ 1: Uint8Array.of(1, 2, 3), 2: hashOf(l2) })], Uint8Array.of(0x10))),
      "a child reference is neither a hash nor an inline node",
    );
    // hex-prefix: flags above 3, and an even path whose padding nibble is not zero
    assert.equal(
      proofFailure(() => verifyRoot([leaf([0x40], long)], empty)),
      "bad hex-prefix path",
    );
    assert.equal(
      proofFailure(() => verifyRoot([leaf([0x21], long)], empty)),
      "bad hex-prefix path",
    );
    assert.equal(
      proofFailure(() => verifyRoot([leaf([0x20], empty)], empty)),
      "a leaf value is not a non-empty string",
    );
    // extensions (path [1, 1], then the branch): well-formed, with an empty path, and leading to a leaf
    const b = branch({ 1: hashOf(l1), 2: hashOf(l2) });
    const ext = (hp: number[], child: RlpItem): RlpItem => [Uint8Array.from(hp), hashOf(child)];
    assert.deepEqual(verifyRoot([ext([0x00, 0x11], b), b, l1], Uint8Array.of(0x11, 0x10)), long);
    assert.equal(verifyRoot([ext([0x00, 0x11], b)], Uint8Array.of(0x12, 0x10)), null);
    assert.equal(
      proofFailure(() => verifyRoot([ext([0x00], b), b, l1], Uint8Array.of(0x10))),
      "an extension with an empty path",
    );
    assert.equal(
      proofFailure(() => verifyRoot([ext([0x00, 0x11], l2), l2], Uint8Array.of(0x11, 0x10))),
      "an extension does not lead to a branch",
    );
    // a node that is not canonical RLP, reached by its hash
    const nonCanonical = Uint8Array.of(0xf8, 0x22, 0x81, 0x20, 0xa0, ...long.subarray(0, 32));
    assert.equal(
      proofFailure(() => verifyTrieProof(keccak_256(nonCanonical), empty, [nonCanonical])),
      "node is not canonical RLP",
    );
  });

  it("returns values exactly as stored, including a branch value", () => {
    const trie = buildTrie(
      kv([
        ["do", "verb"],
        ["dog", "puppy"],
      ]),
    );
    const value = verifyTrieProof(trie.root, utf8("do"), trie.prove(utf8("do")));
    assert.ok(value && bytesEqual(value, utf8("verb")));
    assert.equal(verifyTrieProof(trie.root, utf8("d"), trie.prove(utf8("d"))), null);
    assert.equal(verifyTrieProof(trie.root, utf8("dogs"), trie.prove(utf8("dogs"))), null);
  });
});
