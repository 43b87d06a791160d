/**
 * Ethereum's Merkle-Patricia trie (Ethereum Yellow Paper, Appendix D): proof verification and, for
 * those who produce evidence, a builder that computes roots and proofs.
 *
 * A key is walked as its sequence of 4-bit nibbles, high nibble first. There are three kinds of node,
 * each an RLP list (see `rlp.ts`):
 *
 * ```
 * leaf       [HP(rest of key, leaf), value]
 * extension  [HP(shared nibbles, extension), ref(branch)]
 * branch     [ref(child 0), …, ref(child 15), value or ""]
 * ```
 *
 * `HP` is hex-prefix encoding: the first nibble holds two flags (2 = leaf, 1 = odd length), an odd
 * path's first nibble follows in the same byte, an even path gets a 0 nibble of padding. `ref(n)` is
 * `n`'s RLP itself when that is shorter than 32 bytes (an inline node), else `keccak256(RLP(n))`. The
 * root is always `keccak256(RLP(root node))`; the empty trie's root is `keccak256(0x80)`
 * ({@link EMPTY_TRIE_ROOT}).
 *
 * A proof is the list of hash-referenced nodes on the path from the root to the key, root first, as
 * `eth_getProof` returns them; inline nodes travel inside their parents. The verifier is strict: each
 * node must hash to the reference that leads to it, be canonical RLP and a canonical node (no short node
 * referenced by hash, no empty extension, an extension leads to a branch, a branch has at least two
 * entries), and the proof must contain exactly the nodes the walk uses. Failures are
 * {@link EvidenceError} `TRIE_PROOF_INVALID` with `facts.reason`.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesEqual, toHex } from "../bytes.ts";
import { EvidenceError, ShanduError } from "../errors.ts";
import { type RlpItem, rlpDecode, rlpEncode, uintBytes } from "./rlp.ts";

/** `keccak256(RLP(""))`: the root of a trie with no entries. */
export const EMPTY_TRIE_ROOT: Uint8Array = keccak_256(Uint8Array.of(0x80));

function nibblesOf(key: Uint8Array): number[] {
  const out = new Array<number>(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4;
    out[2 * i + 1] = key[i]! & 15;
  }
  return out;
}

function hexPrefix(path: readonly number[], leaf: boolean): Uint8Array {
  const odd = path.length % 2;
  const out = new Uint8Array(1 + (path.length >> 1));
  out[0] = ((leaf ? 2 : 0) + odd) << 4;
  let i = 0;
  if (odd) out[0] |= path[i++]!;
  for (let j = 1; i < path.length; j++, i += 2) out[j] = (path[i]! << 4) | path[i + 1]!;
  return out;
}

function fromHexPrefix(b: Uint8Array): { path: number[]; leaf: boolean } | null {
  if (b.length === 0) return null;
  const flags = b[0]! >> 4;
  if (flags > 3) return null;
  const odd = (flags & 1) === 1;
  if (!odd && (b[0]! & 15) !== 0) return null;
  const path = odd ? [b[0]! & 15] : [];
  for (let i = 1; i < b.length; i++) path.push(b[i]! >> 4, b[i]! & 15);
  return { path, leaf: (flags & 2) === 2 };
}

// ---------------------------------------------------------------------------------------------------
// Verification

/**
 * Verifies that `proof` proves the value of `key` in the trie with root `root`, and returns that value,
 * or `null` when the proof shows that the key is absent. `what` names the trie in errors ("receipts
 * trie"). All inputs are untrusted. Throws {@link EvidenceError} `TRIE_PROOF_INVALID` when the proof does
 * not lead from `root` along `key`, or holds nodes the walk does not use.
 */
export function verifyTrieProof(root: Uint8Array, key: Uint8Array, proof: readonly Uint8Array[], what = "trie"): Uint8Array | null {
  const fail = (reason: string, facts: Record<string, string | number> = {}) =>
    new EvidenceError("TRIE_PROOF_INVALID", `the ${what} proof is invalid: ${reason}`, { facts: { trie: what, reason, ...facts } });
  if (proof.length === 0) {
    if (bytesEqual(root, EMPTY_TRIE_ROOT)) return null;
    throw fail("the proof has no nodes", { root: toHex(root) });
  }
  const nibbles = nibblesOf(key);
  let used = 0;

  /** The next proof node, which must hash to `hash`. */
  const take = (hash: Uint8Array): RlpItem => {
    const index = used;
    const enc = proof[index];
    if (enc === undefined) throw fail("the proof ends before the path does", { node: index });
    if (!bytesEqual(keccak_256(enc), hash)) throw fail("node does not hash to its reference", { node: index, reference: toHex(hash) });
    if (index > 0 && enc.length < 32) throw fail("a node shorter than 32 bytes is referenced by hash", { node: index });
    used++;
    try {
      return rlpDecode(enc, `${what} proof node ${index}`);
    } catch (cause) {
      if (!(cause instanceof ShanduError)) throw cause;
      throw new EvidenceError("TRIE_PROOF_INVALID", `the ${what} proof is invalid: node ${index} is not canonical RLP`, {
        facts: { trie: what, reason: "node is not canonical RLP", node: index },
        cause,
      });
    }
  };
  /** The node a child reference points to. */
  const resolve = (ref: RlpItem): RlpItem => {
    if (Array.isArray(ref)) {
      if (rlpEncode(ref).length >= 32) throw fail("an inline node is 32 bytes or longer", { node: used - 1 });
      return ref;
    }
    if (ref.length === 32) return take(ref);
    throw fail("a child reference is neither a hash nor an inline node", { node: used - 1 });
  };

  let node = take(root);
  let depth = 0;
  let mustBeBranch = false;
  let result: Uint8Array | null;
  for (;;) {
    if (!Array.isArray(node) || (node.length !== 17 && node.length !== 2)) throw fail("not a trie node", { node: used - 1 });
    if (mustBeBranch && node.length !== 17) throw fail("an extension does not lead to a branch", { node: used - 1 });
    if (node.length === 17) {
      let entries = 0;
      for (let i = 0; i < 16; i++) {
        const c = node[i]!;
        if (Array.isArray(c) || c.length === 32) entries++;
        else if (c.length !== 0) throw fail("a child reference is neither a hash nor an inline node", { node: used - 1 });
      }
      const value = node[16]!;
      if (Array.isArray(value)) throw fail("a branch value is not a string", { node: used - 1 });
      if (value.length > 0) entries++;
      if (entries < 2) throw fail("a branch has fewer than two entries", { node: used - 1 });
      if (depth === nibbles.length) {
        result = value.length > 0 ? value : null;
        break;
      }
      const child = node[nibbles[depth]!]!;
      depth++;
      if (!Array.isArray(child) && child.length === 0) {
        result = null;
        break;
      }
      node = resolve(child);
      mustBeBranch = false;
      continue;
    }
    const [pathItem, second] = node as [RlpItem, RlpItem];
    const hp = pathItem instanceof Uint8Array ? fromHexPrefix(pathItem) : null;
    if (!hp) throw fail("bad hex-prefix path", { node: used - 1 });
    const rest = nibbles.slice(depth);
    if (hp.leaf) {
      if (Array.isArray(second) || second.length === 0) throw fail("a leaf value is not a non-empty string", { node: used - 1 });
      result = rest.length === hp.path.length && hp.path.every((n, i) => n === rest[i]) ? second : null;
      break;
    }
    if (hp.path.length === 0) throw fail("an extension with an empty path", { node: used - 1 });
    if (hp.path.length > rest.length || !hp.path.every((n, i) => n === rest[i])) {
      // The key leaves the path here, but the extension's child must still be a valid reference.
      if (!Array.isArray(second) && second.length !== 32)
        throw fail("a child reference is neither a hash nor an inline node", { node: used - 1 });
      result = null;
      break;
    }
    depth += hp.path.length;
    node = resolve(second);
    mustBeBranch = true;
  }
  if (used !== proof.length) throw fail("the proof has nodes the path does not use", { used, nodes: proof.length });
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Building

type Node =
  | { t: "leaf"; path: number[]; value: Uint8Array; enc?: Uint8Array }
  | { t: "ext"; path: number[]; child: Node; enc?: Uint8Array }
  | { t: "branch"; children: (Node | null)[]; value: Uint8Array | null; enc?: Uint8Array };

function encodeNode(n: Node): Uint8Array {
  n.enc ??= rlpEncode(structure(n));
  return n.enc;
}

function ref(n: Node): RlpItem {
  const enc = encodeNode(n);
  return enc.length < 32 ? structure(n) : keccak_256(enc);
}

function structure(n: Node): RlpItem {
  switch (n.t) {
    case "leaf":
      return [hexPrefix(n.path, true), n.value];
    case "ext":
      return [hexPrefix(n.path, false), ref(n.child)];
    case "branch":
      return [...n.children.map((c) => (c ? ref(c) : new Uint8Array(0))), n.value ?? new Uint8Array(0)];
  }
}

type Entry = { key: number[]; value: Uint8Array };

/** The trie of `entries` (sorted by key, distinct), all of whose keys share their first `depth` nibbles. */
function build(entries: Entry[], depth: number): Node {
  if (entries.length === 1) return { t: "leaf", path: entries[0]!.key.slice(depth), value: entries[0]!.value };
  const first = entries[0]!.key;
  const last = entries[entries.length - 1]!.key;
  let shared = 0;
  while (depth + shared < first.length && depth + shared < last.length && first[depth + shared] === last[depth + shared]) shared++;
  if (shared > 0) return { t: "ext", path: first.slice(depth, depth + shared), child: build(entries, depth + shared) };
  const children: (Node | null)[] = new Array(16).fill(null);
  let value: Uint8Array | null = null;
  let i = 0;
  if (entries[0]!.key.length === depth) value = entries[i++]!.value;
  for (let nibble = 0; nibble < 16; nibble++) {
    const start = i;
    while (i < entries.length && entries[i]!.key[depth] === nibble) i++;
    if (i > start) children[nibble] = build(entries.slice(start, i), depth + 1);
  }
  return { t: "branch", children, value };
}

/** A trie built in memory: its root and proofs for any key. */
export interface BuiltTrie {
  /** 32-byte root hash. */
  readonly root: Uint8Array;
  /** The proof of `key`'s value, or of its absence, in the form {@link verifyTrieProof} takes. */
  prove(key: Uint8Array): Uint8Array[];
}

function compareNibbles(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Builds the trie holding `entries`. A later entry with the same key replaces an earlier one, and an
 * empty value means "no entry" (as in Ethereum, where writing an empty value deletes the key). Inputs are
 * trusted only in the sense that a wrong input gives a root that will not match the chain's.
 */
export function buildTrie(entries: Iterable<readonly [key: Uint8Array, value: Uint8Array]>): BuiltTrie {
  const byKey = new Map<string, Entry>();
  for (const [key, value] of entries) {
    const k = toHex(key);
    if (value.length === 0) byKey.delete(k);
    else byKey.set(k, { key: nibblesOf(key), value });
  }
  const sorted = [...byKey.values()].sort((a, b) => compareNibbles(a.key, b.key));
  const top = sorted.length === 0 ? null : build(sorted, 0);
  const root = top ? keccak_256(encodeNode(top)) : EMPTY_TRIE_ROOT;
  return {
    root,
    prove(key: Uint8Array): Uint8Array[] {
      if (!top) return [];
      const nibbles = nibblesOf(key);
      const proof = [encodeNode(top)];
      let n: Node = top;
      let depth = 0;
      for (;;) {
        let next: Node | null = null;
        if (n.t === "branch") {
          if (depth < nibbles.length) next = n.children[nibbles[depth++]!] ?? null;
        } else if (n.t === "ext") {
          const p = n.path;
          if (p.every((x, i) => nibbles[depth + i] === x)) {
            depth += p.length;
            next = n.child;
          }
        }
        if (!next) return proof;
        const enc = encodeNode(next);
        if (enc.length >= 32) proof.push(enc);
        n = next;
      }
    },
  };
}

/** The root of the trie holding `entries` (see {@link buildTrie}). */
export function trieRoot(entries: Iterable<readonly [key: Uint8Array, value: Uint8Array]>): Uint8Array {
  return buildTrie(entries).root;
}

/** The key of position `index` in a block's transactions and receipts tries: `RLP(index)`. */
export function indexKey(index: number): Uint8Array {
  return rlpEncode(uintBytes(BigInt(index)));
}

/**
 * The trie Ethereum builds over a block's transactions or receipts: `values[i]` under `RLP(i)`. Each value
 * is an item's consensus encoding (a typed item is its type byte followed by its RLP list).
 */
export function indexedTrie(values: readonly Uint8Array[]): BuiltTrie {
  return buildTrie(values.map((v, i) => [indexKey(i), v] as const));
}
